;; SPDX-License-Identifier: MIT OR Apache-2.0

(ns knossos.model
  "A stand-in for Knossos's knossos.model, for testing knossos-rs.jepsen where
  Knossos is not installed (this project's CI). It defines records of the same
  classes (knossos.model.CASRegister, ...) with the same fields, holding the
  initial states the way Knossos's do, and constructors of the same names; the
  models themselves (their step functions) are left out, since knossos-rs.jepsen
  reads only the class and the fields. The Model interface, `step` and
  `inconsistent` are Knossos's, for models of a test's own (which the stand-in
  knossos.competition checks). A real Jepsen test uses Knossos's own namespace,
  and never this file."
  (:refer-clojure :exclude [set])
  (:import (clojure.lang PersistentQueue)))

(definterface Model
  (step [op]))

(defn step
  "The model after op, or an inconsistent state (Knossos's knossos.model/step)."
  [^Model model op]
  (.step model op))

(defrecord Inconsistent [msg])

(defn inconsistent
  "A state that no op can follow, saying why."
  [msg]
  (->Inconsistent msg))

(defn inconsistent?
  "Whether a step led nowhere."
  [state]
  (instance? Inconsistent state))

(defrecord NoOp [])
(defrecord Register [value])
(defrecord CASRegister [value])
(defrecord Mutex [locked?])
(defrecord MultiRegister [])
(defrecord Set [s])
(defrecord UnorderedQueue [pending])
(defrecord FIFOQueue [pending])

(def noop
  "The model of an object every operation is legal on (a value, as in Knossos)."
  (->NoOp))

(defn register
  "A read/write register holding x (default nil)."
  ([] (register nil))
  ([x] (->Register x)))

(defn cas-register
  "A compare-and-set register holding x (default nil)."
  ([] (cas-register nil))
  ([x] (->CASRegister x)))

(defn mutex
  "An unlocked mutex."
  []
  (->Mutex false))

(defn multi-register
  "Registers named by key; the record itself is the map of initial values."
  [values]
  (map->MultiRegister values))

(defn set
  "An empty set."
  []
  (->Set #{}))

(defn unordered-queue
  "An empty queue whose elements may come out in any order. (Knossos holds them
  in a multiset; any collection of the elements stands in for it here.)"
  []
  (->UnorderedQueue []))

(defn fifo-queue
  "An empty first-in, first-out queue."
  []
  (->FIFOQueue PersistentQueue/EMPTY))
