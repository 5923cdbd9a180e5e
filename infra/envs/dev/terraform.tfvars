# dev: the cheapest footprint that still runs the real topology (~$53/month, see infra/cost).
# No secrets here: the VPN pre-shared key, SendGrid and Telegram tokens live only in Key Vault.
environment   = "dev"
location      = "eastus2"
unique_suffix = "d7k2"

# The on-premises edge site (RFC 5737 documentation address: set the site's real public IP).
onprem_public_ip     = "203.0.113.10"
onprem_address_space = ["192.168.1.0/24"]

# The edge IB Gateway (paper) the backend's detector reads market data from, over the tunnel.
edge_ib_gateway = {
  host = "192.168.1.242"
  port = 4004
}

# Basic: route-based, IKEv2 site-to-site, 100 Mbps, static routing, no BGP, no active-active.
vpn_gateway_sku   = "Basic"
vpn_active_active = false
vpn_gateway_zones = []
vpn_public_ip_sku = "Basic"

app_service_sku          = "B1"
app_service_worker_count = 1
static_web_sku           = "Free"
signalr_sku              = "Free_F1"
signalr_capacity         = 1
acr_sku                  = "Basic"
storage_replication_type = "GRS"

log_retention_days      = 30
monitoring_daily_cap_gb = 1
alert_email             = "spy-hybrid-ops@example.com"

container_instances_enabled = false
detector_image_tag          = "0000000"

# Object IDs (not secrets): the CI workload identity and the edge cluster's pull principal.
ci_push_principal_id   = "11111111-1111-4111-8111-111111111111"
edge_pull_principal_id = "22222222-2222-4222-8222-222222222222"

usage_estimate = {
  app_insights_ingestion_gb  = 6.5
  log_analytics_ingestion_gb = 0.5
  vpn_egress_gb              = 50
  internet_egress_gb         = 20
  storage_gb                 = 2
  storage_transactions_10k   = 2000
  key_vault_operations_10k   = 10
  flow_logs_gb               = 0.5
}

tags = {
  cost-center = "trading-dev"
  owner       = "platform"
}
