;; knossos-rs: a Jepsen checker backed by the knossos-rs command.
;; SPDX-License-Identifier: MIT OR Apache-2.0

(ns knossos-rs.jepsen
  "A Jepsen checker that decides linearizability with the knossos-rs binary, in
  place of `jepsen.checker/linearizable`.

  `(linearizable {:model (model/cas-register 0)})` writes the history to a
  temporary EDN file, runs `knossos-rs check` on it and returns the analysis it
  prints, which already has Jepsen's shape: `:valid?` (true, false or
  `:unknown`), Knossos's explanation of a failure (`:op`, `:previous-ok`,
  `:final-paths`, `:configs`, ...), and `:results` and `:failures` when the
  history is checked key by key (`:independent? true`). Bad input answers
  `{:valid? :unknown, :error \"<what knossos-rs said>\"}` instead of throwing.

  Knossos is not needed on the classpath: its model records are recognised by
  class name and fields. See docs/jepsen.md in the knossos-rs repository."
  (:require [clojure.edn :as edn]
            [clojure.java.io :as io]
            [clojure.java.shell :as shell]
            [clojure.string :as str]
            [jepsen.checker :as checker])
  (:import (java.io IOException)
           (java.nio.file Files)
           (java.nio.file.attribute FileAttribute)))

(def ^:private knossos-models
  "Knossos's model records (knossos.model), by class name: the knossos-rs model
  name and a function from the record to its initial state (nil for none)."
  {"knossos.model.Register"       ["register" :value]
   "knossos.model.CASRegister"    ["cas-register" :value]
   "knossos.model.Mutex"          ["mutex" :locked?]
   "knossos.model.MultiRegister"  ["multi-register" #(into {} %)]
   "knossos.model.Set"            ["set" #(set (:s %))]
   "knossos.model.UnorderedQueue" ["unordered-queue" #(vec (:pending %))]
   "knossos.model.FIFOQueue"      ["fifo-queue" #(vec (:pending %))]
   "knossos.model.NoOp"           ["noop" (constantly nil)]})

(defmacro ^:private with-edn-printing
  "Evaluates body with printing set to plain, complete EDN."
  [& body]
  `(binding [*print-length*         nil
             *print-level*          nil
             *print-meta*           false
             *print-dup*            false
             *print-readably*       true
             *print-namespace-maps* false]
     ~@body))

(defn- edn-str
  "x as an EDN string."
  [x]
  (with-edn-printing (pr-str x)))

(defn model-args
  "The knossos-rs arguments (`--model` and, when there is one, `--init`) for a
  model, given as:

  - a Knossos model record: `(model/register 0)`, `(model/cas-register 0)`,
    `(model/mutex)`, `(model/multi-register {:x 0})`, `(model/set)`,
    `(model/unordered-queue)`, `(model/fifo-queue)` or `model/noop`, with its
    state as the initial state;
  - a keyword or string naming a knossos-rs model (`:cas-register`, `:kv`, ...),
    starting from that model's default state;
  - a map `{:name :cas-register, :init 0}`.

  Throws IllegalArgumentException for anything else."
  [model]
  (let [[model-name init]
        (cond
          (record? model)
          (if-let [[model-name state] (get knossos-models (.getName (class model)))]
            [model-name (state model)]
            (throw (IllegalArgumentException.
                    (str "knossos-rs has no model for " (.getName (class model))
                         "; give one as {:name :cas-register, :init 0}"))))

          (and (map? model) (:name model)) [(name (:name model)) (:init model)]
          (keyword? model)                 [(name model) nil]
          (string? model)                  [model nil]
          :else
          (throw (IllegalArgumentException. (str "not a model: " (pr-str model)))))]
    (cond-> ["--model" model-name]
      (some? init) (conj "--init" (edn-str init)))))

(defn- duration
  "A time limit as knossos-rs reads it: a number is seconds, as in Jepsen's
  test maps; a java.time.Duration is converted; a string (\"500ms\", \"5m\")
  is passed as it is."
  [t]
  (cond
    (number? t)                      (str (long (Math/ceil (* 1000 (double t)))) "ms")
    (instance? java.time.Duration t) (str (.toMillis ^java.time.Duration t) "ms")
    :else                            (str t)))

(defn- plain-op
  "An op as a plain map, whatever record it is (jepsen.history.Op), its
  jepsen.independent tuple value (a map entry) as a `[key value]` vector."
  [op]
  (let [op (if (record? op) (into {} op) op)
        v  (:value op)]
    (if (map-entry? v)
      (assoc op :value [(key v) (val v)])
      op)))

(defn write-history!
  "Writes a history (any reducible collection of ops) to file as EDN, one op
  map per line, as Jepsen's history.edn is."
  [history file]
  (with-open [w (io/writer file)]
    (with-edn-printing
      (binding [*out* w]
        (run! (fn [op]
                (pr (plain-op op))
                (.write w "\n"))
              history)))))

(defn- read-analysis
  "The analysis knossos-rs printed, read with unknown tags kept as tagged
  literals."
  [s]
  (edn/read-string {:default tagged-literal} s))

(defn- unknown
  "Jepsen's answer when there is no verdict, with knossos-rs's message."
  [message]
  {:valid? :unknown, :error message})

(defn- analysis
  "The result of a knossos-rs run: its analysis for exit statuses 0
  (linearizable), 1 (not) and 3 (unknown: a time or memory limit), with any
  hint it wrote on stderr as `:warnings`; for anything else (2: bad input),
  `:valid? :unknown` with its message."
  [{:keys [exit out err]}]
  (let [err (str/trim (or err ""))]
    (if-not (#{0 1 3} exit)
      (unknown (if (str/blank? err) (str "knossos-rs exited with status " exit) err))
      (let [a (try (read-analysis out)
                   (catch Exception e
                     (unknown (str "cannot read knossos-rs's output: " (.getMessage e)))))]
        (cond
          (not (map? a))   (unknown (str "knossos-rs printed no analysis; stderr: " err))
          (str/blank? err) a
          :else            (assoc a :warnings err))))))

(defn linearizable
  "A Jepsen checker (jepsen.checker/Checker) that decides whether a history is
  linearizable with the knossos-rs binary. Options:

  - `:model`         required; a Knossos model record such as
                     `(model/cas-register 0)`, a knossos-rs model name
                     (`:cas-register`), or `{:name :cas-register, :init 0}`
                     (see `model-args`).
  - `:independent?`  true for a jepsen.independent history (values are
                     `[key value]` tuples): each key is checked on its own and
                     the result has `:results` per key and `:failures`. Without
                     it, a history whose values are all tuples is checked so
                     too, and `:warnings` says so.
  - `:algorithm`     `:competition` (default), `:wgl`, `:linear` or `:unique`.
  - `:time-limit`    seconds (a number), or a string such as \"500ms\"; past it
                     the answer is `:valid? :unknown`, `:cause :timeout`.
  - `:memory-limit`  a string such as \"2GiB\".
  - `:report-dir`    a directory for an HTML report and SVG diagrams of the
                     anomalies, or a function of `[test opts]` returning one.
  - `:args`          more command-line arguments for `knossos-rs check`.
  - `:binary`        the knossos-rs executable; default: the KNOSSOS_RS
                     environment variable, else `knossos-rs` on the PATH.

  The result is knossos-rs's EDN analysis (docs/analysis.md), plus `:warnings`
  when it wrote hints on stderr. Bad input, or no binary to run, answers
  `{:valid? :unknown, :error \"...\"}`."
  [opts]
  (model-args (:model opts)) ; an unknown model fails here, not at check time
  (reify checker/Checker
    (check [_ test history check-opts]
      (let [dir        (.toFile (Files/createTempDirectory "knossos-rs-" (make-array FileAttribute 0)))
            file       (io/file dir "history.edn")
            binary     (or (:binary opts) (System/getenv "KNOSSOS_RS") "knossos-rs")
            ;; It runs in dir, so that messages and diagrams say just history.edn.
            binary     (if (str/includes? binary "/") (.getAbsolutePath (io/file binary)) binary)
            report-dir (let [d (:report-dir opts)] (if (fn? d) (d test check-opts) d))
            args       (concat ["check" "--quiet" "--format" "edn"]
                               (model-args (:model opts))
                               (when-let [a (:algorithm opts)] ["--algorithm" (name a)])
                               (when-let [t (:time-limit opts)] ["--time-limit" (duration t)])
                               (when-let [m (:memory-limit opts)] ["--memory-limit" (str m)])
                               (when (:independent? opts) ["--independent"])
                               (when report-dir ["--report" (.getAbsolutePath (io/file report-dir))])
                               (map str (:args opts))
                               ["history.edn" :dir dir])]
        (try
          (write-history! history file)
          (analysis (try (apply shell/sh binary args)
                         (catch IOException e
                           {:exit -1, :err (str "cannot run " binary ": " (.getMessage e))})))
          (finally
            (.delete file)
            (.delete dir)))))))
