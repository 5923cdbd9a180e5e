Feature: The VPN link between the edge and the cloud
  Every edge-to-cloud connection crosses the site-to-site VPN. Locally that link is a real
  Toxiproxy proxy named after it. A latency figure means something only if the latency the
  link is told to add really reaches the traffic, so this is checked first.

  Scenario Outline: Table Storage traffic crosses the link with its one-way latency
    Given Azurite serves Table Storage in the cloud behind the "cloud-storage" link
    When the link adds <one_way_ms> ms of one-way latency
    Then an entity written through the link reads back unchanged
    And no read through the link returns sooner than <one_way_ms> ms

    Examples:
      | one_way_ms |
      | 10         |
      | 15         |
