Feature: The dashboard an operator keeps open
  The public dashboard, served by the backend and fed by the SignalR hub, shows what the system
  sees as it happens. The browser here is an operator's on site, on the edge side of the VPN: a
  signal the detector raises is on the page within a second, the bots' signal-to-order latency
  comes back to it from Table Storage, and when the link fails the page says it is reconnecting,
  then that it is live again.

  Background:
    Given the local topology is up
    And the dashboard is open in a browser on the edge side

  Scenario: A detector signal, the edge's latency and a VPN outage, as the page shows them
    When the detector raises signals on unusual activity
    Then each is on the page within 1 second of being raised, heating its side's map
    When 20 signals are traded at 10 per second
    Then the latency panel shows the bots' signal-to-order p50 and p99 within 30 seconds
    And the page has logged no error and reached nothing beyond loopback
    When the VPN link is down for 5 seconds
    Then the page showed "reconnecting", then "live" again within 30 seconds
    And the page threw no exception and reached nothing beyond loopback
