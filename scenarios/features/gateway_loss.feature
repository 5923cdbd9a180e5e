Feature: Losing the IB Gateway
  IB Gateway drops its clients, restarts nightly, and loses its own connection to IB (codes 1100,
  then 1101 or 1102). After each, the trading bot reconnects, reconciles its ledger against the
  gateway's open orders and executions by orderRef, and places no second order for any signal.
  An order the gateway lost with a restart is never sent again: it is proved lost once its signal
  expires (the gateway does not know its id); the signals live 5 s, so that this happens within
  the scenario.

  Background:
    Given the local topology is up
    And every bot is subscribed to the signal hub

  Scenario Outline: The bot reconnects and reconciles without placing a duplicate
    When signals with a 5 s lifetime stream at 10 per second for 6 seconds while the gateway suffers "<fault>"
    Then no signal has more than one order at the gateway
    And every signal ends in exactly one recorded outcome
    And the leader is trading again with its gateway connected

    Examples:
      | fault               |
      | dropped connections |
      | a restart           |
      | 1100 then 1102      |
