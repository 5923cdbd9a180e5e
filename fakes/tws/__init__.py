"""A wire-level IB Gateway paper-trading simulator (TWS API, server version 157).

Real clients (ib_insync 0.9.86, ib_async, ibapi 9.81) connect to it unchanged.

Run:  python -m fakes.tws --host 127.0.0.1 --port P --admin-port A --seed N --state-file F
      [--pacing on|off] [--tick-interval S] [--ack-delay-ms MS] [--fill-delay-ms MS]
      [--spot PRICE] [--account DU...] [--reject-etrade-firm-quote] [--credential-file F]
Ready: one stdout line ``fakes.tws ready api=H:P admin=http://H:A server_version=157
       account=DU1234567 seed=N next_valid_id=K``; SIGTERM persists state and exits 0.

Contracts: SPY stock conId 756733; options on weekly Friday expiries over ~63 days, whole-dollar
strikes within +-15 % of --spot, OCC local symbols (``SPY   240119C00470000``), multiplier 100,
conId = 1_000_000_000 + days(expiry - 2000-01-01) * 4096 + strike * 2 + (1 for puts).

Admin HTTP API (admin.py): GET /health, /orders, /executions, /metrics; POST /faults/<name>
(drop-connections, restart {downtime_s}, connectivity-lost, connectivity-restored,
connectivity-restored-data-lost, slow-acks {delay_ms}, swallow-next-order);
POST /market/unusual-activity {con_ids | strikes [+ expiry, right], volume_multiplier,
open_interest_multiplier, iv_bump}; POST /credential {credential}.

Credential: IB's API has no password. When --credential-file or POST /credential sets one, a
client must send it as startApi's optionalCapabilities (``ib.client.optCapab`` in ib_insync and
ib_async, ``EClient.optCapab`` in ibapi); otherwise it gets error 321 and is disconnected.
Clients already admitted stay connected when the credential rotates.
"""
