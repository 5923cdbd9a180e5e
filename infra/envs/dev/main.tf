# One composition for every environment: dev and prod differ only in terraform.tfvars (SKUs and
# sizes) and backend.hcl (where the state lives). tests/unit/deploy checks that parity.

locals {
  name         = "spyh-${var.environment}"
  compact_name = "spyh${var.environment}${var.unique_suffix}"
  tags = merge(var.tags, {
    system      = "spy-hybrid"
    environment = var.environment
    workspace   = terraform.workspace
    managed-by  = "terraform"
  })
}

data "azurerm_client_config" "current" {}

resource "azurerm_resource_group" "this" {
  name     = "rg-${local.name}"
  location = var.location
  tags     = local.tags

  lifecycle {
    precondition {
      condition     = terraform.workspace == var.environment
      error_message = "Run in the workspace named after the environment: terraform workspace select -or-create=true ${var.environment}"
    }
  }
}

module "monitoring" {
  source = "../../modules/monitoring"

  name                = local.name
  resource_group_name = azurerm_resource_group.this.name
  location            = var.location
  log_retention_days  = var.log_retention_days
  daily_cap_gb        = var.monitoring_daily_cap_gb
  alert_email         = var.alert_email
  app_service_id      = module.app_service.id
  vpn_gateway_id      = module.networking.vpn_gateway_id
  key_vault_id        = module.key_vault.id
  tags                = local.tags
}

module "networking" {
  source = "../../modules/networking"

  name                         = local.name
  resource_group_name          = azurerm_resource_group.this.name
  location                     = var.location
  vpn_gateway_sku              = var.vpn_gateway_sku
  vpn_active_active            = var.vpn_active_active
  vpn_gateway_zones            = var.vpn_gateway_zones
  vpn_public_ip_sku            = var.vpn_public_ip_sku
  onprem_public_ip             = var.onprem_public_ip
  onprem_address_space         = var.onprem_address_space
  key_vault_id                 = module.key_vault.id
  log_analytics_workspace_id   = module.monitoring.log_analytics_workspace_id
  log_analytics_workspace_guid = module.monitoring.log_analytics_workspace_guid
  flow_log_storage_account_id  = module.storage.id
  network_watcher_name         = "NetworkWatcher_${var.location}"
  tags                         = local.tags
}

module "key_vault" {
  source = "../../modules/key-vault"

  name                       = "kv-${local.compact_name}"
  resource_group_name        = azurerm_resource_group.this.name
  location                   = var.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  allowed_ip_addresses       = [var.onprem_public_ip]
  allowed_subnet_ids         = [module.networking.app_subnet_id, module.networking.containers_subnet_id]
  administrator_object_ids   = [data.azurerm_client_config.current.object_id]
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags
}

module "storage" {
  source = "../../modules/storage"

  name                       = "st${local.compact_name}"
  resource_group_name        = azurerm_resource_group.this.name
  location                   = var.location
  replication_type           = var.storage_replication_type
  key_vault_id               = module.key_vault.id
  allowed_ip_addresses       = [var.onprem_public_ip]
  allowed_subnet_ids         = [module.networking.app_subnet_id, module.networking.containers_subnet_id]
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags
}

module "static_web" {
  source = "../../modules/static-web"

  name                = local.name
  resource_group_name = azurerm_resource_group.this.name
  location            = var.location
  sku                 = var.static_web_sku
  tags                = local.tags
}

module "signalr" {
  source = "../../modules/signalr"

  name                       = local.name
  resource_group_name        = azurerm_resource_group.this.name
  location                   = var.location
  sku_name                   = var.signalr_sku
  capacity                   = var.signalr_capacity
  cors_allowed_origins       = [module.static_web.origin]
  key_vault_id               = module.key_vault.id
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags
}

module "acr" {
  source = "../../modules/acr"

  name                       = "acr${local.compact_name}"
  resource_group_name        = azurerm_resource_group.this.name
  location                   = var.location
  sku                        = var.acr_sku
  push_principal_ids         = { ci = var.ci_push_principal_id }
  pull_principal_ids         = { edge = var.edge_pull_principal_id }
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags
}

module "app_service" {
  source = "../../modules/app-service"

  name                       = "app-${local.name}-${var.unique_suffix}"
  resource_group_name        = azurerm_resource_group.this.name
  location                   = var.location
  sku_name                   = var.app_service_sku
  worker_count               = var.app_service_worker_count
  subnet_id                  = module.networking.app_subnet_id
  key_vault_id               = module.key_vault.id
  key_vault_name             = module.key_vault.name
  storage_account_id         = module.storage.id
  cors_allowed_origins       = [module.static_web.origin]
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags

  # The backend (system/services/backend) reads its own secrets from Key Vault by name
  # (backend-api-keys, signalr-connection-string, tables-connection-string); the App Insights
  # connection string reaches it as a Key Vault reference.
  secret_settings = {
    SPY_BACKEND_APPINSIGHTS_CONNECTION_STRING = module.monitoring.connection_string_secret_name
  }

  plain_settings = merge(
    { for name, value in local.detector_settings : "SPY_BACKEND_${name}" => value },
    {
      SPY_BACKEND_HOST = "0.0.0.0"
      SPY_BACKEND_PORT = "8000"
      WEBSITES_PORT    = "8000"
      # Its own detector loop, unless the detector runs in Container Instances (below).
      SPY_BACKEND_RUN_DETECTOR = tostring(!var.container_instances_enabled)
    },
  )
}

locals {
  # What the detector loop needs wherever it runs, under the backend's prefix or the detector
  # service's (CloudSettings in system/services/backend/settings.py): one list, no drift.
  detector_settings = {
    KEYVAULT_URL    = module.key_vault.vault_uri
    SIGNALR_SECRET  = module.signalr.connection_string_secret_name
    TABLES_SECRET   = module.storage.connection_string_secret_name
    SIGNALR_HUB     = "signals"
    TELEMETRY       = "azure"
    MARKET_SOURCE   = "ib"
    IB_HOST         = var.edge_ib_gateway.host
    IB_PORT         = tostring(var.edge_ib_gateway.port)
    ANOMALIES_TABLE = "anomalies"
  }
}

module "container_instances" {
  source = "../../modules/container-instances"

  enabled                    = var.container_instances_enabled
  name                       = local.name
  resource_group_name        = azurerm_resource_group.this.name
  location                   = var.location
  subnet_id                  = module.networking.containers_subnet_id
  acr_id                     = module.acr.id
  acr_login_server           = module.acr.login_server
  image_tag                  = var.detector_image_tag
  key_vault_id               = module.key_vault.id
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  tags                       = local.tags

  # system/services/detector: the backend's detector loop on its own (the backend leaves it out
  # while this runs: SPY_BACKEND_RUN_DETECTOR above), on the same hub, table and gateway.
  environment_variables = {
    for name, value in local.detector_settings : "SPY_DETECTOR_${name}" => value
  }
  secure_environment_variables = {
    SPY_DETECTOR_APPINSIGHTS_CONNECTION_STRING = module.monitoring.connection_string
  }
}
