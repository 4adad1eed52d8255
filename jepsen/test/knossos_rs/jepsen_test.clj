;; SPDX-License-Identifier: MIT OR Apache-2.0

(ns knossos-rs.jepsen-test
  "Tests of knossos-rs.jepsen against the real knossos-rs binary: $KNOSSOS_RS,
  else target/release/knossos-rs of the repository (from the repository's root
  or from jepsen/). jepsen.checker and knossos.model are the stand-ins in this
  directory (see test.sh). Run with `-m knossos-rs.jepsen-test`: the exit status
  is non-zero when a test fails."
  (:require [clojure.java.io :as io]
            [clojure.string :as str]
            [clojure.test :refer [deftest is testing run-tests]]
            [jepsen.checker :as checker]
            [knossos.model :as model]
            [knossos-rs.jepsen :as k])
  (:import (clojure.lang MapEntry)))

(def binary
  "The knossos-rs binary the tests run."
  (or (System/getenv "KNOSSOS_RS")
      (->> ["target/release/knossos-rs" "../target/release/knossos-rs"]
           (filter #(.exists (io/file %)))
           first)
      "target/release/knossos-rs"))

;; Ops as Jepsen 0.3 records them: jepsen.history.Op records. A record of our own
;; stands in for it, to check that records are written as plain maps.
(defrecord Op [index time type process f value])

(defn- history
  "A history from [process type f value] rows, as Op records with :index and
  :time."
  [& rows]
  (map-indexed (fn [i [p t f v]] (->Op i (* 1000 i) t p f v)) rows))

(defn- check
  "Runs the checker made from opts (the binary added) on a history."
  [opts history]
  (checker/check (k/linearizable (merge {:binary binary} opts)) {:name "test"} history {}))

(def stale-read
  (history [0 :invoke :write 1]
           [0 :ok     :write 1]
           [1 :invoke :write 2]
           [1 :ok     :write 2]
           [0 :invoke :read nil]
           [0 :ok     :read 1]))

(deftest valid-cas-register
  (let [r (check {:model (model/cas-register 0)}
                 (history [0 :invoke :write 1]
                          [1 :invoke :read nil]
                          [0 :ok     :write 1]
                          [1 :ok     :read 0]
                          [2 :invoke :cas [1 2]]
                          [2 :ok     :cas [1 2]]
                          [0 :invoke :read nil]
                          [0 :ok     :read 2]
                          [:nemesis :info :start nil]
                          [1 :invoke :cas [3 4]]
                          [1 :fail   :cas [3 4]]))]
    (is (= true (:valid? r)))
    (is (keyword? (:analyzer r)))
    (is (nil? (:error r)))))

(deftest stale-read-is-not-linearizable
  (let [r (check {:model (model/cas-register 0)} stale-read)]
    (is (= false (:valid? r)))
    (is (= {:index 5, :time 5000, :type :ok, :process 0, :f :read, :value 1} (:op r)))
    (is (= 3 (:index (:previous-ok r))))
    (is (seq (:final-paths r)))
    (is (= "can't read 1 from register 2"
           (-> r :final-paths first last :model :msg)))))

(deftest report-dir
  (let [dir (.toFile (java.nio.file.Files/createTempDirectory
                      "knossos-rs-report-" (make-array java.nio.file.attribute.FileAttribute 0)))
        r   (check {:model      (model/cas-register 0)
                    :report-dir (fn [test _opts] (io/file dir (:name test)))}
                   stale-read)]
    (is (= false (:valid? r)))
    (is (.exists (io/file dir "test" "report.html")))
    (is (.exists (io/file dir "test" "history.edn.svg")))
    (run! #(.delete ^java.io.File %) (reverse (file-seq dir)))))

(deftest unknown-tags-are-read-as-tagged-literals
  ;; A completion carrying an exception object prints as #error {...}, which the
  ;; analysis repeats in :op; reading it back must not throw.
  (let [h (vec stale-read)
        h (assoc h 5 (assoc (h 5) :exception (ex-info "late" {:node "n1"})))
        r (check {:model (model/cas-register 0)} h)]
    (is (= false (:valid? r)))
    (is (tagged-literal? (:exception (:op r))))
    (is (= 'error (:tag (:exception (:op r)))))))

(deftest independent-keys
  (let [t (fn [k v] (MapEntry. k v)) ; what jepsen.independent/tuple makes
        r (check {:model (model/cas-register 0), :independent? true}
                 (history [0 :invoke :write (t :a 1)]
                          [1 :invoke :write (t "b" 1)]
                          [0 :ok     :write (t :a 1)]
                          [:nemesis :info :start {"n1" #{"n2" "n3"}}]
                          [1 :ok     :write (t "b" 1)]
                          [0 :invoke :read (t :a nil)]
                          [1 :invoke :read (t "b" nil)]
                          [0 :ok     :read (t :a 1)]
                          [1 :ok     :read (t "b" 0)]))]
    (is (= false (:valid? r)))
    (is (= ["b"] (:failures r)))
    (is (= #{:a "b"} (set (keys (:results r)))))
    (is (= true (get-in r [:results :a :valid?])))
    (is (= false (get-in r [:results "b" :valid?])))
    (is (= ["b" 0] (get-in r [:results "b" :op :value])))
    (is (= 8 (get-in r [:results "b" :op :index])))))

(deftest tuples-without-independent-are-checked-key-by-key
  ;; Two registers: as one register of pairs, the read of [:a 1] after the write
  ;; of [:b 2] would not be linearizable.
  (let [t (fn [k v] (MapEntry. k v))
        r (check {:model :register}
                 (history [0 :invoke :write (t :a 1)]
                          [0 :ok     :write (t :a 1)]
                          [1 :invoke :write (t :b 2)]
                          [1 :ok     :write (t :b 2)]
                          [0 :invoke :read  (t :a nil)]
                          [0 :ok     :read  (t :a 1)]))]
    (is (= true (:valid? r)))
    (is (= #{:a :b} (set (keys (:results r)))))
    (is (str/includes? (:warnings r) "checked key by key"))))

(deftest malformed-history-is-unknown
  (testing "a completion without an invocation"
    (let [r (check {:model (model/cas-register 0)}
                   (history [0 :invoke :write 1]
                            [1 :ok     :read 1]))]
      (is (= :unknown (:valid? r)))
      (is (str/starts-with? (:error r) "history.edn:2:1: "))
      (is (str/includes? (:error r) "no open invocation"))))
  (testing "an operation the model does not know"
    (let [r (check {:model (model/cas-register 0)}
                   (history [0 :invoke :increment 1]
                            [0 :ok     :increment 1]))]
      (is (= :unknown (:valid? r)))
      (is (str/includes? (:error r) "unknown :f :increment"))))
  (testing "an --init the model refuses"
    (let [r (check {:model {:name :noop, :init 1}} stale-read)]
      (is (= :unknown (:valid? r)))
      (is (str/includes? (:error r) "noop")))))

(deftest missing-binary-is-unknown
  (let [r (check {:model :cas-register, :binary "/nonexistent/knossos-rs"} stale-read)]
    (is (= :unknown (:valid? r)))
    (is (str/includes? (:error r) "/nonexistent/knossos-rs"))))

(deftest time-limit-is-unknown
  ;; 30 crashed enqueues, then a dequeue of each and one of a value never
  ;; enqueued: every subset of the crashed enqueues is a configuration, so WGL
  ;; runs until its time limit.
  (let [n 30
        h (concat (for [p (range n)] [p :invoke :enqueue p])
                  (for [p (range n)] [p :info :enqueue p])
                  (mapcat (fn [i v] [[(+ n i) :invoke :dequeue nil] [(+ n i) :ok :dequeue v]])
                          (range) (concat (range n) [(+ n 1000)])))
        r (check {:model (model/unordered-queue), :algorithm :wgl, :time-limit 0.2}
                 (apply history h))]
    (is (= :unknown (:valid? r)))
    (is (= :timeout (:cause r)))))

(deftest knossos-models-map-to-model-and-init
  (is (= ["--model" "cas-register" "--init" "0"] (k/model-args (model/cas-register 0))))
  (is (= ["--model" "cas-register"] (k/model-args (model/cas-register))))
  (is (= ["--model" "register" "--init" "\"x\""] (k/model-args (model/register "x"))))
  (is (= ["--model" "mutex" "--init" "false"] (k/model-args (model/mutex))))
  (is (= ["--model" "multi-register" "--init" "{:x 0, :y 1}"]
         (k/model-args (model/multi-register {:x 0, :y 1}))))
  (is (= ["--model" "set" "--init" "#{}"] (k/model-args (model/set))))
  (is (= ["--model" "unordered-queue" "--init" "[]"] (k/model-args (model/unordered-queue))))
  (is (= ["--model" "fifo-queue" "--init" "[1 2]"]
         (k/model-args (update (model/fifo-queue) :pending conj 1 2))))
  (is (= ["--model" "noop"] (k/model-args model/noop)))
  (is (= ["--model" "kv"] (k/model-args :kv)))
  (is (= ["--model" "cas-register" "--init" "0"] (k/model-args {:name :cas-register, :init 0})))
  (is (thrown? IllegalArgumentException (k/linearizable {:model (->Op 0 0 :ok 0 :read 1)})))
  (is (thrown? IllegalArgumentException (k/linearizable {})))
  (is (thrown? IllegalArgumentException (k/linearizable {:model {:init 0}}))))

(deftest initial-value-reaches-the-binary
  ;; A first read of 0 is linearizable only if the register starts at 0.
  (let [h (history [0 :invoke :read nil] [0 :ok :read 0])]
    (is (= true (:valid? (check {:model (model/cas-register 0)} h))))
    (is (= false (:valid? (check {:model (model/cas-register)} h))))
    (is (= true (:valid? (check {:model {:name :register, :init 0}} h)))))
  (testing "every Knossos model the binary knows, end to end"
    (is (= true (:valid? (check {:model (model/mutex)}
                                (history [0 :invoke :acquire nil] [0 :ok :acquire nil]
                                         [1 :invoke :acquire nil] [0 :invoke :release nil]
                                         [0 :ok :release nil] [1 :ok :acquire nil])))))
    (is (= false (:valid? (check {:model (update (model/mutex) :locked? not)}
                                 (history [0 :invoke :acquire nil] [0 :ok :acquire nil])))))
    (is (= true (:valid? (check {:model (model/multi-register {:x 0})}
                                (history [0 :invoke :txn [[:read :x nil] [:write :y 1]]]
                                         [0 :ok :txn [[:read :x 0] [:write :y 1]]])))))
    (is (= true (:valid? (check {:model (model/set)}
                                (history [0 :invoke :add 1] [0 :ok :add 1]
                                         [0 :invoke :read nil] [0 :ok :read #{1}])))))
    (is (= false (:valid? (check {:model (model/fifo-queue)}
                                 (history [0 :invoke :enqueue 1] [0 :ok :enqueue 1]
                                          [0 :invoke :enqueue 2] [0 :ok :enqueue 2]
                                          [0 :invoke :dequeue nil] [0 :ok :dequeue 2])))))
    (is (= true (:valid? (check {:model model/noop}
                                (history [0 :invoke :anything 1] [0 :ok :anything 2])))))))

(deftest history-is-written-as-plain-edn-lines
  (let [f (java.io.File/createTempFile "knossos-rs-test-" ".edn")]
    (try
      (k/write-history! [(->Op 0 0 :invoke 1 :write (MapEntry. :k 1))
                         {:process :nemesis, :type :info, :f :kill, :value #{"n1"}}]
                        f)
      (is (= ["{:index 0, :time 0, :type :invoke, :process 1, :f :write, :value [:k 1]}"
              "{:process :nemesis, :type :info, :f :kill, :value #{\"n1\"}}"]
             (str/split-lines (slurp f))))
      (finally (.delete f)))))

(defn -main
  "Runs the tests; exits 0 if all pass, 1 otherwise."
  [& _]
  (println "knossos-rs binary:" binary)
  (let [{:keys [fail error]} (run-tests 'knossos-rs.jepsen-test)]
    (shutdown-agents)
    (System/exit (if (zero? (+ fail error)) 0 1))))
