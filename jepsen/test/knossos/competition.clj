;; SPDX-License-Identifier: MIT OR Apache-2.0

(ns knossos.competition
  "A stand-in for Knossos's knossos.competition, for testing knossos-rs.jepsen's
  fallback to Knossos where Knossos is not installed (this project's CI). Its
  `analysis` has Knossos's name and arguments, and decides small histories by
  brute force: every order of the operations that respects real time, each
  stepped through the model (knossos.model/step). A real Jepsen test has
  Knossos's own namespace on its classpath instead, and never this file."
  (:require [knossos.model :as model]))

(defn- operations
  "The history's client operations: each invocation's position (`:inv`), its
  :ok's (`:ret`, nil for one that crashed or never completed) and the op to
  step the model with (the :ok, or the invocation); failed ones left out."
  [history]
  (let [[calls _]
        (reduce (fn [[calls open] [i op]]
                  (let [p (:process op)]
                    (case (:type op)
                      :invoke [(conj calls {:inv i, :op op}) (assoc open p (count calls))]
                      :ok     [(update calls (open p) assoc :ret i, :op op) (dissoc open p)]
                      :fail   [(assoc calls (open p) nil) (dissoc open p)]
                      [calls (dissoc open p)])))
                [[] {}]
                (map-indexed vector (remove #(= :nemesis (:process %)) history)))]
    (vec (keep-indexed (fn [id c] (some-> c (assoc :id id))) calls))))

(defn analysis
  "Whether some order of the history's operations, each after those that
  returned before it was invoked, is legal for the model: `{:valid? bool,
  :analyzer :brute-force}`."
  [model history]
  (let [calls (operations history)
        oks   (filter :ret calls)
        seen  (atom #{})
        legal (fn legal [m done]
                (let [open-oks (remove #(done (:id %)) oks)]
                  (cond
                    (empty? open-oks) true
                    (@seen [m done])  false
                    :else
                    (let [first-ret (apply min (map :ret open-oks))]
                      (swap! seen conj [m done])
                      (boolean
                       (some (fn [c]
                               (let [m' (model/step m (:op c))]
                                 (and (not (model/inconsistent? m'))
                                      (legal m' (conj done (:id c))))))
                             (filter #(and (not (done (:id %))) (< (:inv %) first-ret))
                                     calls)))))))]
    {:valid? (legal model #{}), :analyzer :brute-force}))
