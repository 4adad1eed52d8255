;; knossos-rs: a Jepsen checker backed by the knossos-rs command.
;; SPDX-License-Identifier: MIT OR Apache-2.0

(ns knossos-rs.jepsen
  "A Jepsen checker that decides linearizability with the knossos-rs binary, in
  place of `jepsen.checker/linearizable`.

  `(linearizable {:model (model/cas-register 0)})` finds the binary and checks
  its version when it is made, before the test runs. Its `check` writes the
  history to a temporary EDN file, runs `knossos-rs check` on it and returns the
  analysis it prints, which already has Jepsen's shape: `:valid?` (true, false
  or `:unknown`), Knossos's explanation of a failure (`:op`, `:previous-ok`,
  `:final-paths`, `:configs`, ...), and `:results` (sorted by key) and
  `:failures` when the history is checked key by key. On a failure it leaves
  `linear.svg` (and `linear.html`) in the test's store directory, as Jepsen's
  checker does. Bad input answers `{:valid? :unknown, :error \"...\"}` instead
  of throwing; so does a run past its timeout, which is killed.

  Knossos's own models are recognised by class name and fields, so Knossos is
  not needed for them. A model of the test's own (a record implementing
  `knossos.model.Model` that knossos-rs cannot know) is checked by Knossos
  itself, as `jepsen.checker/linearizable` would, when Knossos is on the
  classpath (it is in every Jepsen project). See docs/jepsen.md in the
  knossos-rs repository."
  (:require [clojure.edn :as edn]
            [clojure.java.io :as io]
            [clojure.string :as str]
            [jepsen.checker :as checker]
            [jepsen.store :as store])
  (:import (java.io File)
           (java.nio.file CopyOption Files StandardCopyOption)
           (java.nio.file.attribute FileAttribute)
           (java.util.concurrent TimeUnit)))

(def version
  "The knossos-rs version this namespace is written for, [major minor]: the
  binary must have the same (before 1.0, a minor version may change its command
  line or its analysis)."
  [0 1])

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

(def ^:private algorithms
  "The `:algorithm`s knossos-rs runs; any other is competition, as in Jepsen."
  #{:competition :wgl :linear :unique})

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

(defn- knossos-model?
  "Whether x is a Knossos model (implements knossos.model.Model), without
  loading Knossos: a model of the test's own is one."
  [x]
  (some #(= "knossos.model.Model" (.getName ^Class %)) (supers (class x))))

(defn- binary-model?
  "Whether model is one knossos-rs checks: a Knossos record it knows, a model
  name, or `{:name ...}`."
  [model]
  (or (contains? knossos-models (some-> model class .getName))
      (and (map? model) (not (record? model)) (some? (:name model)))
      (keyword? model)
      (string? model)))

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

  Throws IllegalArgumentException for anything else (a model of the test's own
  is checked by Knossos instead: see `linearizable`)."
  [model]
  (let [[model-name init]
        (cond
          (contains? knossos-models (some-> model class .getName))
          (let [[model-name state] (get knossos-models (.getName (class model)))]
            [model-name (state model)])

          (knossos-model? model)
          (throw (IllegalArgumentException.
                  (str "knossos-rs has no model for " (.getName (class model))
                       "; Knossos checks it, or give a knossos-rs model as"
                       " {:name :cas-register, :init 0}")))

          (and (map? model) (not (record? model)) (:name model))
          [(name (:name model)) (:init model)]

          (keyword? model) [(name model) nil]
          (string? model)  [model nil]
          :else
          (throw (IllegalArgumentException. (str "not a model: " (pr-str model)))))]
    (cond-> ["--model" model-name]
      (some? init) (conj "--init" (edn-str init)))))

(defn- seconds
  "A time as seconds: a number of seconds, a java.time.Duration, or a string
  such as \"500ms\", \"90s\", \"5m\" or \"1h\"; nil for a string it cannot read."
  [t]
  (cond
    (number? t)                      (double t)
    (instance? java.time.Duration t) (/ (.toMillis ^java.time.Duration t) 1000.0)
    :else
    (when-let [[_ n unit] (re-matches #"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*" (str t))]
      (* (Double/parseDouble n)
         (case unit "ms" 0.001, "m" 60, "min" 60, "h" 3600, 1)))))

(defn- duration
  "A time limit as knossos-rs reads it: a number is seconds, as in Jepsen's
  test maps; a java.time.Duration is converted; a string (\"500ms\", \"5m\")
  is passed as it is."
  [t]
  (cond
    (number? t)                      (str (long (Math/ceil (* 1000 (double t)))) "ms")
    (instance? java.time.Duration t) (str (.toMillis ^java.time.Duration t) "ms")
    :else                            (str t)))

(defn- timeout-ms
  "How long the binary may run before it is killed, in ms, or nil for no limit:
  `:timeout` if given, else twice `:time-limit` and a minute (the limit bounds
  the search; reading the history and writing the report come on top)."
  [{:keys [timeout time-limit]}]
  (let [limit (if (some? timeout)
                (or (seconds timeout)
                    (throw (IllegalArgumentException. (str "not a :timeout: " (pr-str timeout)))))
                (some-> time-limit seconds (* 2) (+ 60)))]
    (some-> limit (* 1000) Math/ceil long)))

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

(defn- run-process
  "Runs cmd (a vector of strings) in dir, its stdout and stderr to files there,
  killing it when it runs past timeout (ms; nil: none) or the calling thread is
  interrupted. Returns {:exit n, :out s, :err s}, or {:killed true, :err s}."
  [cmd ^File dir timeout]
  (let [out (io/file dir "stdout")
        err (io/file dir "stderr")
        p   (-> (ProcessBuilder. ^java.util.List (vec cmd))
                (.directory dir)
                (.redirectOutput out)
                (.redirectError err)
                (.start))]
    (try
      (.close (.getOutputStream p))
      (if (if timeout (.waitFor p timeout TimeUnit/MILLISECONDS) (do (.waitFor p) true))
        {:exit (.exitValue p), :out (slurp out), :err (slurp err)}
        {:killed true, :err (slurp err)})
      (finally
        (when (.isAlive p)
          (.destroyForcibly p)
          (.waitFor p 10 TimeUnit/SECONDS))))))

(defn- temp-dir
  "A new temporary directory."
  ^File []
  (.toFile (Files/createTempDirectory "knossos-rs-" (make-array FileAttribute 0))))

(defn- delete-tree!
  "Deletes a directory and everything in it."
  [^File dir]
  (run! #(.delete ^File %) (reverse (file-seq dir))))

(defn- binary
  "The executable to run: `:binary`, else $KNOSSOS_RS, else knossos-rs on the
  PATH; a path made absolute, since it runs in a temporary directory."
  [opts]
  (let [b (str (or (:binary opts) (System/getenv "KNOSSOS_RS") "knossos-rs"))]
    (if (str/includes? b "/") (.getAbsolutePath (io/file b)) b)))

(defn- check-binary!
  "Runs `binary --version`; throws (ex-info) unless it runs and is of this
  namespace's `version`."
  [binary]
  (let [dir    (temp-dir)
        fail   (fn [why]
                 (throw (ex-info (str "cannot use knossos-rs " binary ": " why
                                      "; install it (cargo install --locked --path . in a"
                                      " clone of knossos-rs), or name it with :binary or"
                                      " KNOSSOS_RS")
                                 {:type ::binary, :binary binary})))
        result (try (run-process [binary "--version"] dir 30000)
                    (catch java.io.IOException e (fail (.getMessage e)))
                    (finally (delete-tree! dir)))
        said   (str/trim (str (:out result)))
        [_ major minor] (re-find #"^knossos-rs (\d+)\.(\d+)\.\d+" said)]
    (cond
      (not= 0 (:exit result))
      (fail (str "--version " (if (:killed result) "did not finish" (str "exited " (:exit result)))))

      (nil? major)
      (fail (str "--version printed " (pr-str said)))

      (not= version [(Long/parseLong major) (Long/parseLong minor)])
      (fail (str "it is version " (subs said (count "knossos-rs "))
                 ", and this namespace is for " (str/join "." version) ".x")))))

(defn- read-analysis
  "The analysis knossos-rs printed, read with unknown tags kept as tagged
  literals."
  [s]
  (edn/read-string {:default tagged-literal} s))

(defn- unknown
  "Jepsen's answer when there is no verdict, with knossos-rs's message."
  [message]
  {:valid? :unknown, :error message})

(defn- key-order
  "A total order of keys of any types: numbers, strings, keywords, symbols,
  then the rest by class; within a group by `compare`, else by their EDN."
  [a b]
  (let [group (fn [x] (cond (number? x) 0, (string? x) 1, (keyword? x) 2, (symbol? x) 3, :else 4))
        by    (fn [x] [(group x) (.getName (class x)) (edn-str x)])
        c     (compare (group a) (group b))
        c     (if (and (zero? c) (< (group a) 4)) (compare a b) c)]
    ;; compare says 1 and 1.0 are equal, which = does not: their class decides.
    (if (and (zero? c) (not= a b)) (compare (by a) (by b)) c)))

(defn- sorted-results
  "An analysis with its `:results` a map sorted by key, and `:failures` in that
  order."
  [a]
  (cond-> a
    (map? (:results a))        (update :results #(into (sorted-map-by key-order) %))
    (sequential? (:failures a)) (update :failures #(vec (sort key-order %)))))

(defn- stderr-warnings
  "The warnings knossos-rs wrote on stderr that its analysis's `:warnings` do not
  hold (those hold what reading found; not, say, one about memory)."
  [held err]
  (->> (str/split-lines err)
       (keep #(second (re-find #"^.*?: warning: (.*)$" %)))
       (remove (fn [w] (some #(str/ends-with? % w) held)))))

(defn- analysis
  "The result of a knossos-rs run: its analysis for exit statuses 0
  (linearizable), 1 (not) and 3 (unknown: a time or memory limit), `notes` and
  any other warning it wrote on stderr added to its `:warnings`; for anything
  else (2: bad input), `:valid? :unknown` with its message."
  [{:keys [exit out err killed]} timeout notes]
  (let [err (str/trim (or err ""))]
    (cond
      killed
      (assoc (unknown (str "knossos-rs was still running after " (/ timeout 1000.0)
                           " s (:timeout), and was killed"
                           (when-not (str/blank? err) (str "; stderr: " err))))
             :cause :timeout)

      (not (#{0 1 3} exit))
      (unknown (if (str/blank? err) (str "knossos-rs exited with status " exit) err))

      :else
      (let [a (try (read-analysis out)
                   (catch Exception e
                     (unknown (str "cannot read knossos-rs's output: " (.getMessage e)))))]
        (if-not (map? a)
          (unknown (str "knossos-rs printed no analysis; stderr: " err))
          (let [held     (vec (:warnings a))
                warnings (-> held (into (stderr-warnings held err)) (into notes))]
            (cond-> (sorted-results a)
              (seq warnings) (assoc :warnings warnings))))))))

(defn- copy!
  "Copies file from to file to, replacing it."
  [^File from ^File to]
  (Files/copy (.toPath from) (.toPath to)
              ^"[Ljava.nio.file.CopyOption;" (into-array CopyOption [StandardCopyOption/REPLACE_EXISTING])))

(defn- store-name
  "What a file of the binary's report is called in the store: history.edn's
  diagram `linear.svg` (per failing key `linear_key_<key>.svg`), the page
  `linear.html`; nil for anything else."
  [^String file]
  (cond
    (= file "report.html")                    "linear.html"
    (str/starts-with? file "history.edn")     (str "linear" (subs file (count "history.edn")))
    :else                                     nil))

(defn- write-store!
  "Copies a failure's report into the test's store directory (opts'
  `:subdirectory` in it), as Jepsen's checker writes linear.svg there. Returns
  nil, or why it could not (a test map without a store, say)."
  [test check-opts ^File report]
  (try
    (doseq [^File f (.listFiles report)
            :let [to (store-name (.getName f))]
            :when to]
      (copy! f (store/path! test (:subdirectory check-opts) to)))
    nil
    (catch Throwable e
      (str "cannot write linear.svg in the test's store: " (or (.getMessage e) e)))))

(defn- check-with-binary
  "Checks history with the knossos-rs binary (see `linearizable`)."
  [opts test history check-opts]
  (let [dir        (temp-dir)
        file       (io/file dir "history.edn")
        report     (io/file dir "report")
        report-dir (let [d (:report-dir opts)] (if (fn? d) (d test check-opts) d))
        algorithm  (:algorithm opts)
        algorithm  (when (some? algorithm)
                     (if (and (or (keyword? algorithm) (string? algorithm))
                              (algorithms (keyword (name algorithm))))
                       (keyword (name algorithm))
                       ::unknown))
        timeout    (timeout-ms opts)
        args       (concat [(binary opts) "check" "--quiet" "--format" "edn"]
                           (model-args (:model opts))
                           (when (and algorithm (not= algorithm ::unknown))
                             ["--algorithm" (name algorithm)])
                           (when-let [t (:time-limit opts)] ["--time-limit" (duration t)])
                           (when-let [m (:memory-limit opts)] ["--memory-limit" (str m)])
                           (when (:independent? opts) ["--independent"])
                           ["--report" "report"]
                           (map str (:args opts))
                           ["history.edn"])
        notes      (when (= algorithm ::unknown)
                     [(str "unknown :algorithm " (pr-str (:algorithm opts))
                           ": competition, as jepsen.checker/linearizable runs")])]
    (try
      (write-history! history file)
      (let [a (analysis (try (run-process args dir timeout)
                             (catch java.io.IOException e
                               {:exit -1, :err (str "cannot run " (binary opts) ": " (.getMessage e))}))
                        timeout notes)]
        (when (and report-dir (.isDirectory report))
          (let [to (io/file report-dir)]
            (.mkdirs to)
            (doseq [^File f (.listFiles report)] (copy! f (io/file to (.getName f))))))
        (if-let [why (and (false? (:valid? a)) (write-store! test check-opts report))]
          (assoc a :report-error why)
          a))
      (finally
        (delete-tree! dir)))))

(defn- resolve-knossos
  "Knossos's analysis function for an algorithm, as Jepsen's checker chooses
  it (`knossos.linear`, `knossos.wgl`, else `knossos.competition`); nil when
  Knossos is not on the classpath."
  [algorithm]
  (try
    (requiring-resolve (case algorithm
                         :linear 'knossos.linear/analysis
                         :wgl    'knossos.wgl/analysis
                         'knossos.competition/analysis))
    (catch Exception _ nil)))

(defn- check-with-knossos
  "Checks history with Knossos itself, as `jepsen.checker/linearizable` does:
  its analysis with at most 10 final paths and configurations, `:analyzer
  :knossos-fallback` (Knossos's own in `:knossos-analyzer`), and on a failure
  Knossos's linear.svg in the store directory."
  [opts test history check-opts]
  (let [analyze (resolve-knossos (:algorithm opts))
        a       (analyze (:model opts) history)
        a       (-> a
                    (assoc :analyzer :knossos-fallback, :knossos-analyzer (:analyzer a))
                    (assoc :final-paths (vec (take 10 (:final-paths a)))
                           :configs     (vec (take 10 (:configs a)))))
        render  (when (false? (:valid? a))
                  (try (requiring-resolve 'knossos.linear.report/render-analysis!)
                       (catch Exception _ nil)))]
    (if-let [why (when render
                   (try (render history a (.getCanonicalPath ^File (store/path! test (:subdirectory check-opts) "linear.svg")))
                        nil
                        (catch Throwable e
                          (str "cannot write linear.svg in the test's store: " (or (.getMessage e) e)))))]
      (assoc a :report-error why)
      a)))

(defn linearizable
  "A Jepsen checker (jepsen.checker/Checker) that decides whether a history is
  linearizable with the knossos-rs binary. Options:

  - `:model`         required; a Knossos model record such as
                     `(model/cas-register 0)`, a knossos-rs model name
                     (`:cas-register`), or `{:name :cas-register, :init 0}`
                     (see `model-args`). Any other Knossos model (a record of
                     the test's own implementing knossos.model.Model) is
                     checked by Knossos itself, which must be on the classpath:
                     `:analyzer :knossos-fallback`.
  - `:independent?`  true for a jepsen.independent history (values are
                     `[key value]` tuples): each key is checked on its own and
                     the result has `:results` per key (sorted by key) and
                     `:failures`. Without it, a history whose values are all
                     tuples is checked so too, and `:warnings` says so.
  - `:algorithm`     `:competition` (default), `:wgl`, `:linear` or `:unique`;
                     any other is competition, as in Jepsen, with a warning.
  - `:time-limit`    seconds (a number), a java.time.Duration, or a string such
                     as \"500ms\"; past it the answer is `:valid? :unknown`,
                     `:cause :timeout`.
  - `:timeout`       seconds (or as `:time-limit`) after which the binary is
                     killed and the answer is `:valid? :unknown`, `:cause
                     :timeout`; default twice `:time-limit` and 60 s, none
                     without a `:time-limit`.
  - `:memory-limit`  a string such as \"2GiB\".
  - `:report-dir`    a directory for knossos-rs's HTML report and SVG diagrams,
                     or a function of `[test opts]` returning one.
  - `:args`          more command-line arguments for `knossos-rs check`.
  - `:binary`        the knossos-rs executable; default: the KNOSSOS_RS
                     environment variable, else `knossos-rs` on the PATH.

  Made, it checks what it can before the test runs: the model, and the binary
  (it runs, and is of this namespace's `version`); each throws. The result is
  knossos-rs's EDN analysis (docs/analysis.md), with `:warnings` a vector of
  strings; on a failure, `linear.svg` and `linear.html` in the test's store
  directory (`:report-error` says why not, when they could not be written). Bad
  input, or a binary killed past its timeout, answers `{:valid? :unknown,
  :error \"...\"}`."
  [opts]
  (let [model (:model opts)]
    (cond
      (binary-model? model)
      (do (model-args model)
          (timeout-ms opts)
          (check-binary! (binary opts))
          (reify checker/Checker
            (check [_ test history check-opts]
              (check-with-binary opts test history check-opts))))

      (not (knossos-model? model))
      (model-args model) ; throws: not a model

      (nil? (resolve-knossos (:algorithm opts)))
      (throw (IllegalArgumentException.
              (str "knossos-rs has no model for " (.getName (class model))
                   ", and Knossos (knossos.competition) is not on the classpath to"
                   " check it; give a knossos-rs model as {:name :cas-register, :init 0}")))

      (:independent? opts)
      (throw (IllegalArgumentException.
              (str ":independent? needs a model knossos-rs knows, not "
                   (.getName (class model))
                   "; wrap the checker in jepsen.independent/checker instead")))

      :else
      (reify checker/Checker
        (check [_ test history check-opts]
          (check-with-knossos opts test history check-opts))))))
