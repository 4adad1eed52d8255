;; SPDX-License-Identifier: MIT OR Apache-2.0

(ns jepsen.checker
  "A stand-in for Jepsen's jepsen.checker, for testing knossos-rs.jepsen where
  Jepsen is not installed (this project's CI). It declares only the Checker
  protocol, with the same name and method as Jepsen's; a real Jepsen test has
  Jepsen's own namespace on its classpath instead, and never this file.")

(defprotocol Checker
  (check [checker test history opts]
    "Checks a history of operations for a test; returns a map with :valid?."))
