Feature: Leader failover between the edge bot replicas
  Three bot replicas run; only the holder of the Redis lease trades. When the leader dies
  without a word (SIGKILL: no lease release, no goodbye), a standby must take over once the
  lease expires, reconcile with the gateway, and carry on: no signal traded twice, no signal
  traded after it expired, and every signal accounted for in the ledgers.

  Background:
    Given the local topology is up
    And every bot is subscribed to the signal hub

  Scenario: The leader is killed mid-stream and a standby takes over
    When signals with a 2 s lifetime stream at 10 per second for 8 seconds
    And the leader is killed with SIGKILL 3 seconds into the stream
    Then a new leader places its first order within the lease TTL plus 1 second of the kill
    And no signal has more than one order at the gateway
    And no signal was traded after it expired
    And every signal ends in exactly one recorded outcome
