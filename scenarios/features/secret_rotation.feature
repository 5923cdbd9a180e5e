Feature: Rotating the IBKR credential
  The gateway credential lives in Key Vault. When it is rotated, the bots notice the new version
  and reconnect to the gateway with it, without restarting and without missing a signal; the
  gateway stops accepting the old one.

  Background:
    Given the local topology is up
    And every bot is subscribed to the signal hub

  Scenario: The credential is rotated while signals stream
    When the IBKR credential is rotated in Key Vault while signals stream at 5 per second
    Then the leader reconnected to the gateway with the new credential without restarting
    And every signal sent during the rotation gives exactly one order at the gateway
    And the gateway refuses a client presenting the old credential
