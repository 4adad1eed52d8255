;; SPDX-License-Identifier: MIT OR Apache-2.0

(ns knossos-rs.jepsen-test
  "Tests of knossos-rs.jepsen against the real knossos-rs binary: $KNOSSOS_RS,
  else target/release/knossos-rs of the repository (from the repository's root
  or from jepsen/). jepsen.checker and knossos.model are the stand-ins in this
  directory (see test.sh). Run with `-m knossos-rs.jepsen-test`: the exit status
  is non-zero when a test fails."
  (:require [clojure.java.io :as io]
            [clojure.string :as str]
            [clojure.test :refer [deftest is testing run-tests use-fixtures]]
            [jepsen.checker :as checker]
            [jepsen.store :as store]
            [knossos.model :as model]
            [knossos-rs.jepsen :as k])
  (:import (clojure.lang MapEntry)
           (knossos.model Model)))

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

(defn- temp-dir
  "A new temporary directory."
  ^java.io.File []
  (.toFile (java.nio.file.Files/createTempDirectory
            "knossos-rs-test-" (make-array java.nio.file.attribute.FileAttribute 0))))

(defn- delete-tree!
  [^java.io.File dir]
  (run! #(.delete ^java.io.File %) (reverse (file-seq dir))))

;; Each test's store (jepsen.store/base-dir) is a temporary directory of its own.
(use-fixtures :each
  (fn [t]
    (let [dir (temp-dir)]
      (try (with-redefs [store/base-dir (str dir)] (t))
           (finally (delete-tree! dir))))))

(def test-map
  "The test a checker is given: what jepsen.store needs to find its directory."
  {:name "test", :start-time "20261207T000000.000Z"})

(defn- check
  "Runs the checker made from opts (the binary added) on a history, with
  check-opts (Jepsen's: `:subdirectory`)."
  ([opts history] (check opts history {}))
  ([opts history check-opts]
   (checker/check (k/linearizable (merge {:binary binary} opts)) test-map history check-opts)))

(defn- script
  "An executable shell script in dir, standing in for the binary."
  [dir text]
  (let [f (io/file dir "knossos-rs")]
    (spit f (str "#!/bin/sh\n" text "\n"))
    (.setExecutable f true)
    (str f)))

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
    (delete-tree! dir)))

(deftest a-failure-leaves-linear-svg-in-the-store
  (testing "as jepsen.checker/linearizable does"
    (is (= false (:valid? (check {:model (model/cas-register 0)} stale-read))))
    (let [svg (store/path test-map "linear.svg")]
      (is (.exists svg))
      (is (str/starts-with? (slurp svg) "<svg"))
      (is (str/includes? (slurp (store/path test-map "linear.html")) "<html"))))
  (testing "in the :subdirectory Jepsen names (independent/checker's per key)"
    (is (= false (:valid? (check {:model (model/cas-register 0)} stale-read
                                 {:subdirectory "independent/7"}))))
    (is (.exists (store/path test-map "independent/7" "linear.svg"))))
  (testing "per failing key, checked key by key"
    (let [t (fn [k v] (MapEntry. k v))
          r (check {:model (model/cas-register 0), :independent? true}
                   (history [0 :invoke :write (t :a 1)] [0 :ok :write (t :a 1)]
                            [1 :invoke :read (t :b nil)] [1 :ok :read (t :b 3)])
                   {:subdirectory "keys"})]
      (is (= [:b] (:failures r)))
      (is (some #(str/starts-with? (.getName ^java.io.File %) "linear_key_")
                (.listFiles (store/path test-map "keys"))))))
  (testing "and nothing for a valid history"
    (let [valid (history [0 :invoke :write 1] [0 :ok :write 1])]
      (is (= true (:valid? (check {:model (model/cas-register 0)} valid {:subdirectory "valid"}))))
      (is (not (.exists (store/path test-map "valid"))))))
  (testing "a test with no store: the verdict all the same, and why there is no svg"
    (let [r (checker/check (k/linearizable {:model (model/cas-register 0), :binary binary})
                           {:name "no start time"} stale-read {})]
      (is (= false (:valid? r)))
      (is (str/includes? (:report-error r) "linear.svg")))))

(deftest an-empty-history-is-valid
  ;; Jepsen hands checkers empty histories (a key whose ops all failed); Knossos
  ;; calls them valid, and checker/compose must not turn :unknown.
  (is (= true (:valid? (check {:model (model/cas-register 0)} []))))
  (is (= true (:valid? (check {:model (model/cas-register 0)}
                              (history [:nemesis :info :start nil] [0 :invoke :write 1] [0 :fail :write 1])))))
  (let [t (fn [k v] (MapEntry. k v))
        r (check {:model (model/cas-register 0), :independent? true}
                 (history [0 :invoke :write (t :a 1)] [0 :ok :write (t :a 1)]
                          [1 :invoke :write (t :b 2)] [1 :fail :write (t :b 2)]))]
    (is (= true (:valid? r)))
    (is (= {:a true, :b true} (into {} (map (fn [[k a]] [k (:valid? a)])) (:results r))))))

(deftest results-are-sorted-by-key
  (let [t    (fn [k v] (MapEntry. k v))
        keys [10 :a "b" 2 1.5 'c "a" 3N]
        r    (check {:model (model/cas-register 0), :independent? true}
                    (apply history (mapcat (fn [p k] [[p :invoke :write (t k 1)] [p :ok :write (t k 1)]])
                                           (range) keys)))]
    (is (= true (:valid? r)))
    (is (sorted? (:results r)))
    (is (= [1.5 2 3N 10 "a" "b" :a 'c] (vec (clojure.core/keys (:results r))))))
  (let [t (fn [k v] (MapEntry. k v))
        r (check {:model (model/cas-register 0), :independent? true}
                 (apply history (mapcat (fn [p k] [[p :invoke :read (t k nil)] [p :ok :read (t k 5)]])
                                        (range) [3 1 2])))]
    (is (= [1 2 3] (:failures r)))))

(deftest an-unknown-algorithm-is-competition-as-in-jepsen
  (let [r (check {:model (model/cas-register 0), :algorithm :fastest} stale-read)]
    (is (= false (:valid? r)))
    (is (= 5 (:index (:op r))))
    (is (some #(str/includes? % "unknown :algorithm :fastest: competition") (:warnings r))))
  (is (nil? (:warnings (check {:model (model/cas-register 0), :algorithm "wgl"} stale-read)))))

;; A model of the test's own, as Knossos models are written: a counter.
(defrecord Counter [n]
  Model
  (step [this op]
    (case (:f op)
      :add  (->Counter (+ n (:value op)))
      :read (if (= n (:value op))
              this
              (model/inconsistent (str "read " (:value op) " from counter " n))))))

(deftest a-model-of-the-test-s-own-is-checked-by-knossos
  ;; knossos.competition here is the stand-in (a brute-force search); the binary is
  ;; not needed, so a missing one is no matter.
  (let [opts  {:model (->Counter 0), :binary "/nonexistent/knossos-rs"}
        c     (k/linearizable opts)
        run   (fn [h] (checker/check c test-map h {}))
        ;; The read of 1 is concurrent with the add: either order explains it.
        valid (history [0 :invoke :add 1] [1 :invoke :read nil] [1 :ok :read 1] [0 :ok :add 1]
                       [1 :invoke :read nil] [0 :invoke :add 2] [0 :info :add 2] [1 :ok :read 3])
        ;; The read of 0 began after the add of 1 returned.
        stale (history [0 :invoke :add 1] [0 :ok :add 1] [1 :invoke :read nil] [1 :ok :read 0])]
    (let [r (run valid)]
      (is (= true (:valid? r)))
      (is (= :knossos-fallback (:analyzer r)))
      (is (= :brute-force (:knossos-analyzer r))))
    (is (= false (:valid? (run stale))))
    (is (= true (:valid? (run []))))
    (testing "refused when it is made, if Knossos is not on the classpath"
      (with-redefs [k/resolve-knossos (constantly nil)]
        (is (thrown-with-msg? IllegalArgumentException
                              #"no model for knossos_rs.jepsen_test.Counter, and Knossos \(knossos.competition\) is not on the classpath"
                              (k/linearizable opts)))))
    (testing ":independent? needs a model of knossos-rs's"
      (is (thrown-with-msg? IllegalArgumentException #"jepsen.independent/checker"
                            (k/linearizable (assoc opts :independent? true)))))))

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
    (is (vector? (:warnings r)))
    (is (some #(str/includes? % "checked key by key") (:warnings r)))))

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

(deftest missing-binary-is-refused-when-the-checker-is-made
  (is (thrown-with-msg? clojure.lang.ExceptionInfo #"cannot use knossos-rs /nonexistent/knossos-rs: .*KNOSSOS_RS"
                        (k/linearizable {:model :cas-register, :binary "/nonexistent/knossos-rs"})))
  (testing "a binary of another version"
    (let [dir (temp-dir)]
      (try
        (is (thrown-with-msg? clojure.lang.ExceptionInfo #"version 9\.9\.0, and this namespace is for 0\.1\.x"
                              (k/linearizable {:model :cas-register
                                               :binary (script dir "echo knossos-rs 9.9.0")})))
        (is (thrown-with-msg? clojure.lang.ExceptionInfo #"--version printed \"hello\""
                              (k/linearizable {:model :cas-register, :binary (script dir "echo hello")})))
        (finally (delete-tree! dir))))))

(deftest namespace-version-is-the-crate-s
  (let [cargo (->> ["Cargo.toml" "../Cargo.toml"] (map io/file) (filter #(.exists ^java.io.File %)) first)
        [_ major minor] (re-find #"(?m)^version = \"(\d+)\.(\d+)\.\d+\"" (slurp cargo))]
    (is (= k/version [(Long/parseLong major) (Long/parseLong minor)]))))

(deftest binary-gone-after-the-checker-was-made-is-unknown
  (let [dir  (temp-dir)
        copy (io/file dir "knossos-rs")]
    (try
      (io/copy (io/file binary) copy)
      (.setExecutable copy true)
      (let [c (k/linearizable {:model :cas-register, :binary (str copy)})]
        (.delete copy)
        (let [r (checker/check c test-map stale-read {})]
          (is (= :unknown (:valid? r)))
          (is (str/includes? (:error r) (str copy)))))
      (finally (delete-tree! dir)))))

(deftest a-binary-past-its-timeout-is-killed
  ;; A binary that answers --version and then never finishes a check.
  (let [dir  (temp-dir)
        pid  (io/file dir "pid")
        fake (script dir (str "if [ \"$1\" = --version ]; then exec " binary " --version; fi\n"
                              "echo $$ > " pid "\nexec sleep 600"))]
    (try
      (let [r (check {:model :cas-register, :binary fake, :timeout 0.5} stale-read)]
        (is (= :unknown (:valid? r)))
        (is (= :timeout (:cause r)))
        (is (str/includes? (:error r) "was killed"))
        (let [p (java.lang.ProcessHandle/of (Long/parseLong (str/trim (slurp pid))))]
          (is (not (and (.isPresent p) (.isAlive ^java.lang.ProcessHandle (.get p)))))))
      (finally (delete-tree! dir)))))

(deftest timeout-defaults-to-twice-the-time-limit-and-a-minute
  (let [timeout-ms #'k/timeout-ms]
    (is (= 80000 (timeout-ms {:time-limit 10})))
    (is (= 61000 (timeout-ms {:time-limit "500ms"})))
    (is (= 660000 (timeout-ms {:time-limit (java.time.Duration/ofMinutes 5)})))
    (is (= 5000 (timeout-ms {:time-limit 10, :timeout 5})))
    (is (= 120000 (timeout-ms {:timeout "2m"})))
    (is (nil? (timeout-ms {})))
    (is (thrown? IllegalArgumentException (k/linearizable {:model :cas-register, :binary binary
                                                          :timeout "soon"})))))

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
