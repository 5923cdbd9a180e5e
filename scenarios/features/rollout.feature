Feature: Rolling out a bot release, and rolling back a bad one
  The bots are a Deployment: a rollout surges one new replica at a time and retires an old one
  only once the new one is ready (maxUnavailable 0), so trading never stops. A release whose
  replicas never become ready is rolled back when the progress deadline passes, and the
  operators are told. Replicas, strategy and deadline come from the chart's values.

  Background:
    Given the local topology is up
    And every bot is subscribed to the signal hub

  Scenario: A healthy release rolls out without missing a signal
    When the bots are rolled to release "1.2.1" while signals stream at 5 per second
    Then the rollout ends "complete" with every bot replica on release "1.2.1"
    And every signal sent during the rollout gives exactly one order at the gateway

  Scenario: A release whose readiness fails is rolled back automatically
    When the bots are rolled to release "1.3.0-broken" while signals stream at 5 per second
    Then the rollout ends "rolled-back-to" with every bot replica on the release it ran before
    And every signal sent during the rollout gives exactly one order at the gateway
    And the operators get an email saying the release was rolled back
