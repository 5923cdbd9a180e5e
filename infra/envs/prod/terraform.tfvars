# prod: same modules and resources as dev; only SKUs and sizes differ (see infra/cost for the bill).
# No secrets here: the VPN pre-shared key, SendGrid and Telegram tokens live only in Key Vault.
environment   = "prod"
location      = "eastus2"
unique_suffix = "p4m9"

# The on-premises edge site (RFC 5737 documentation address: set the site's real public IP).
onprem_public_ip     = "203.0.113.10"
onprem_address_space = ["192.168.1.0/24"]

# The edge IB Gateway (live) the backend's detector reads market data from, over the tunnel.
edge_ib_gateway = {
  host = "192.168.1.243"
  port = 4003
}

# Availability-zone SKU, active-active across three zones, Standard public IPs.
vpn_gateway_sku   = "VpnGw1AZ"
vpn_active_active = true
vpn_gateway_zones = ["1", "2", "3"]
vpn_public_ip_sku = "Standard"

app_service_sku          = "B1"
app_service_worker_count = 2
static_web_sku           = "Free"
signalr_sku              = "Standard_S1"
signalr_capacity         = 1
acr_sku                  = "Basic"
storage_replication_type = "RAGZRS"

log_retention_days      = 90
monitoring_daily_cap_gb = 5
alert_email             = "spy-hybrid-oncall@example.com"

container_instances_enabled = false
detector_image_tag          = "0000000"

# Object IDs (not secrets): the CI workload identity and the edge cluster's pull principal.
ci_push_principal_id   = "11111111-1111-4111-8111-111111111111"
edge_pull_principal_id = "33333333-3333-4333-8333-333333333333"

usage_estimate = {
  app_insights_ingestion_gb  = 25
  log_analytics_ingestion_gb = 5
  vpn_egress_gb              = 200
  internet_egress_gb         = 100
  storage_gb                 = 20
  storage_transactions_10k   = 10000
  key_vault_operations_10k   = 50
  flow_logs_gb               = 5
}

tags = {
  cost-center = "trading-prod"
  owner       = "platform"
}
