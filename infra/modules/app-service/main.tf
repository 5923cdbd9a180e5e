locals {
  key_vault_references = {
    for setting, secret in var.secret_settings :
    setting => "@Microsoft.KeyVault(VaultName=${var.key_vault_name};SecretName=${secret})"
  }
}

resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_225:zone-redundant plans need Premium v2/v3; B1 is the design's choice (~$13/month)
  name                = "asp-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  os_type             = "Linux"
  sku_name            = var.sku_name
  worker_count        = var.worker_count
  tags                = var.tags
}

# The FastAPI backend: /negotiate, /signals, /health. Secrets reach it only as Key Vault
# references resolved by the app's managed identity.
resource "azurerm_linux_web_app" "this" {
  #checkov:skip=CKV_AZURE_222:the backend serves the browser dashboard (/api/negotiate), so it must be publicly reachable
  #checkov:skip=CKV_AZURE_13:Easy Auth would block SignalR negotiate for the dashboard; the API authenticates callers itself (bot client certificates, signed tokens)
  #checkov:skip=CKV_AZURE_88:the backend is stateless (state is in Table Storage); no Azure Files mount
  name                                           = var.name
  location                                       = var.location
  resource_group_name                            = var.resource_group_name
  service_plan_id                                = azurerm_service_plan.this.id
  https_only                                     = true
  virtual_network_subnet_id                      = var.subnet_id
  public_network_access_enabled                  = true
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false
  client_certificate_enabled                     = true
  client_certificate_mode                        = "Optional"
  app_settings                                   = merge(var.plain_settings, local.key_vault_references)
  tags                                           = var.tags

  identity {
    type = "SystemAssigned"
  }

  site_config {
    always_on                         = true
    app_command_line                  = var.startup_command
    ftps_state                        = "Disabled"
    health_check_path                 = var.health_check_path
    health_check_eviction_time_in_min = 5
    http2_enabled                     = true
    minimum_tls_version               = "1.2"
    vnet_route_all_enabled            = true

    application_stack {
      python_version = var.python_version
    }

    cors {
      allowed_origins = var.cors_allowed_origins
    }
  }

  logs {
    detailed_error_messages = true
    failed_request_tracing  = true

    http_logs {
      file_system {
        retention_in_days = 7
        retention_in_mb   = 35
      }
    }
  }
}

resource "azurerm_role_assignment" "key_vault_secrets_user" {
  scope                = var.key_vault_id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_linux_web_app.this.identity[0].principal_id
}

resource "azurerm_role_assignment" "table_data_contributor" {
  scope                = var.storage_account_id
  role_definition_name = "Storage Table Data Contributor"
  principal_id         = azurerm_linux_web_app.this.identity[0].principal_id
}

resource "azurerm_monitor_diagnostic_setting" "app" {
  name                       = "diag-${var.name}"
  target_resource_id         = azurerm_linux_web_app.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "AppServiceHTTPLogs"
  }

  enabled_log {
    category = "AppServiceConsoleLogs"
  }

  enabled_log {
    category = "AppServiceAppLogs"
  }

  enabled_log {
    category = "AppServiceAuditLogs"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}
