# Serverless mode: the backend publishes through the REST API, clients connect after /negotiate.
resource "azurerm_signalr_service" "this" {
  name                = "sigr-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  service_mode        = "Serverless"

  connectivity_logs_enabled     = true
  messaging_logs_enabled        = true
  http_request_logs_enabled     = true
  live_trace_enabled            = false
  public_network_access_enabled = true
  # The backend signs client and REST tokens with the access key (the REST API's documented scheme).
  local_auth_enabled = true
  tags               = var.tags

  sku {
    name     = var.sku_name
    capacity = var.capacity
  }

  cors {
    allowed_origins = var.cors_allowed_origins
  }

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_key_vault_secret" "connection_string" {
  name            = var.connection_string_secret_name
  key_vault_id    = var.key_vault_id
  value           = azurerm_signalr_service.this.primary_connection_string
  content_type    = "azure-signalr-connection-string"
  expiration_date = timeadd(plantimestamp(), "8760h")
  tags            = var.tags

  lifecycle {
    # Re-keying (az signalr key renew) and this secret's rotation set the next expiry.
    ignore_changes = [expiration_date]
  }
}

resource "azurerm_monitor_diagnostic_setting" "signalr" {
  name                       = "diag-sigr-${var.name}"
  target_resource_id         = azurerm_signalr_service.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "AllLogs"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}
