Feature: Hot reload of the strategy configuration
  The strategy is a mounted ConfigMap. A valid change applies to every bot without a restart; an
  invalid one is refused, the previous configuration stays in force, and the operators are told.

  Background:
    Given the local topology is up
    And every bot is subscribed to the signal hub

  Scenario: A valid change applies without a restart, an invalid one is refused
    When the strategy's order quantity is changed to 2
    Then every bot trades 2 contracts per order without having restarted
    And a new signal is ordered with a quantity of 2
    When an invalid strategy is written over it
    Then every bot still trades 2 contracts per order
    And the operators get an email saying the strategy was rejected
