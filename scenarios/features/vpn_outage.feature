Feature: A VPN outage between the edge and the cloud
  For 30 seconds nothing crosses the site-to-site link (a black hole, as a dead IPsec tunnel is).
  Afterwards the bots' SignalR sessions come back, signals flow again, and the telemetry that
  piled up in the edge outbox reaches Table Storage: nothing lost, nothing doubled. The edge
  watchdog's heartbeat notices the outage and tells the operators, and that it ended; the
  components on the edge stayed up, and it does not say otherwise.

  Background:
    Given the local topology is up
    And every bot is subscribed to the signal hub

  Scenario: A 30 s outage, then everything catches up
    Given signals have been traded before the outage
    When the VPN link is down for 30 seconds
    Then every bot's SignalR session is back within 60 seconds
    And a signal sent after the outage gives exactly one order at the gateway
    And the watchdog told the operators by email and Telegram that the link was lost, then back
    And every record in the edge outboxes is in Table Storage exactly once
