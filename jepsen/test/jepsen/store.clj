;; SPDX-License-Identifier: MIT OR Apache-2.0

(ns jepsen.store
  "A stand-in for Jepsen's jepsen.store, for testing knossos-rs.jepsen where
  Jepsen is not installed (this project's CI): only `base-dir`, `path` and
  `path!`, with Jepsen's names and layout (base-dir/test-name/start-time/...,
  nil parts left out, nested ones flattened), a `:start-time` as a string. A
  real Jepsen test has Jepsen's own namespace on its classpath instead, and
  never this file."
  (:require [clojure.java.io :as io]))

(def base-dir
  "Where the runs are kept (tests rebind it to a temporary directory)."
  "store")

(defn path
  "The test's directory, or a file in it named by the other arguments."
  [test & parts]
  (assert (:name test))
  (assert (:start-time test))
  (apply io/file base-dir (:name test) (str (:start-time test))
         (map str (remove nil? (flatten parts)))))

(defn path!
  "As `path`, creating the directories the file is in."
  [& args]
  (let [f (apply path args)]
    (io/make-parents f)
    f))
