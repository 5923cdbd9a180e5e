Feature: A Table Storage outage
  Azurite is stopped for 20 seconds, once the stream's first records are stored, and started
  again on the same data. The backend keeps serving (liveness stays up while readiness says a
  dependency is missing), the edge keeps trading, and every write is retried until it lands:
  nothing lost, nothing doubled, and nothing stored before the outage gone.

  Background:
    Given the local topology is up
    And every bot is subscribed to the signal hub

  Scenario: Azurite is down for 20 s while signals are traded
    When Table Storage is stopped for 20 seconds while signals stream at 5 per second
    Then the backend answered its liveness probe throughout and reported not ready during the outage
    And every signal sent during the outage gives exactly one order at the gateway
    And every record in the edge outboxes is in Table Storage exactly once
    And what Table Storage held before the outage is still there
