resource "azurerm_log_analytics_workspace" "this" {
  name                       = "log-${var.name}"
  location                   = var.location
  resource_group_name        = var.resource_group_name
  sku                        = "PerGB2018"
  retention_in_days          = var.log_retention_days
  daily_quota_gb             = var.daily_cap_gb
  internet_ingestion_enabled = true
  internet_query_enabled     = true
  tags                       = var.tags
}

# Workspace-based Application Insights. Local (connection-string) ingestion stays on: the services'
# OpenTelemetry exporters (system/adapters/telemetry_otel.py) send with the connection string only.
resource "azurerm_application_insights" "this" {
  name                          = "appi-${var.name}"
  location                      = var.location
  resource_group_name           = var.resource_group_name
  workspace_id                  = azurerm_log_analytics_workspace.this.id
  application_type              = "web"
  retention_in_days             = var.log_retention_days
  daily_data_cap_in_gb          = var.daily_cap_gb
  local_authentication_disabled = false
  tags                          = var.tags
}

resource "azurerm_key_vault_secret" "connection_string" {
  name            = var.connection_string_secret_name
  key_vault_id    = var.key_vault_id
  value           = azurerm_application_insights.this.connection_string
  content_type    = "application-insights-connection-string"
  expiration_date = timeadd(plantimestamp(), "8760h")
  tags            = var.tags

  lifecycle {
    ignore_changes = [expiration_date]
  }
}

resource "azurerm_monitor_action_group" "email" {
  name                = "ag-${var.name}-email"
  resource_group_name = var.resource_group_name
  short_name          = substr(replace("spy${var.name}", "-", ""), 0, 12)
  tags                = var.tags

  email_receiver {
    name                    = "operations"
    email_address           = var.alert_email
    use_common_alert_schema = true
  }
}

resource "azurerm_monitor_metric_alert" "backend_5xx" {
  name                = "alert-${var.name}-backend-5xx"
  resource_group_name = var.resource_group_name
  scopes              = [var.app_service_id]
  description         = "The backend answered with HTTP 5xx more than 5 times in 5 minutes."
  severity            = 2
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.Web/sites"
    metric_name      = "Http5xx"
    aggregation      = "Total"
    operator         = "GreaterThan"
    threshold        = 5
  }

  action {
    action_group_id = azurerm_monitor_action_group.email.id
  }
}

resource "azurerm_monitor_metric_alert" "backend_health" {
  name                = "alert-${var.name}-backend-health"
  resource_group_name = var.resource_group_name
  scopes              = [var.app_service_id]
  description         = "The backend's health-check path failed on some instance."
  severity            = 1
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.Web/sites"
    metric_name      = "HealthCheckStatus"
    aggregation      = "Average"
    operator         = "LessThan"
    threshold        = 100
  }

  action {
    action_group_id = azurerm_monitor_action_group.email.id
  }
}

resource "azurerm_monitor_metric_alert" "vpn_tunnel_down" {
  name                = "alert-${var.name}-vpn-tunnel-down"
  resource_group_name = var.resource_group_name
  scopes              = [var.vpn_gateway_id]
  description         = "No traffic crossed the site-to-site tunnel for 5 minutes: the VPN to the edge is down."
  severity            = 0
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = var.tags

  criteria {
    metric_namespace = "Microsoft.Network/virtualNetworkGateways"
    metric_name      = "TunnelAverageBandwidth"
    aggregation      = "Average"
    operator         = "LessThan"
    threshold        = 1
  }

  action {
    action_group_id = azurerm_monitor_action_group.email.id
  }
}

# The edge forwards its metrics to Application Insights through the outbox; these rules read them.
resource "azurerm_monitor_scheduled_query_rules_alert_v2" "signal_to_order_latency" {
  name                    = "alert-${var.name}-signal-to-order-p99"
  resource_group_name     = var.resource_group_name
  location                = var.location
  description             = "p99 signal-to-order latency reported by the edge is above ${var.signal_to_order_p99_ms} ms."
  display_name            = "signal-to-order p99 above ${var.signal_to_order_p99_ms} ms"
  scopes                  = [azurerm_application_insights.this.id]
  severity                = 2
  evaluation_frequency    = "PT5M"
  window_duration         = "PT15M"
  auto_mitigation_enabled = true
  tags                    = var.tags

  criteria {
    query                   = <<-KQL
      customMetrics
      | where name == "spy_signal_to_order_ms"
      | summarize p99 = percentile(value, 99) by bin(timestamp, 5m)
    KQL
    time_aggregation_method = "Maximum"
    metric_measure_column   = "p99"
    operator                = "GreaterThan"
    threshold               = var.signal_to_order_p99_ms

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 2
      number_of_evaluation_periods             = 3
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.email.id]
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "outbox_backlog" {
  name                    = "alert-${var.name}-outbox-backlog"
  resource_group_name     = var.resource_group_name
  location                = var.location
  description             = "The edge outbox holds more than ${var.outbox_backlog_threshold} records not yet forwarded to the cloud."
  display_name            = "edge outbox backlog"
  scopes                  = [azurerm_application_insights.this.id]
  severity                = 2
  evaluation_frequency    = "PT5M"
  window_duration         = "PT15M"
  auto_mitigation_enabled = true
  tags                    = var.tags

  criteria {
    query                   = <<-KQL
      customMetrics
      | where name == "spy_outbox_pending"
      | summarize pending = max(value) by bin(timestamp, 5m)
    KQL
    time_aggregation_method = "Maximum"
    metric_measure_column   = "pending"
    operator                = "GreaterThan"
    threshold               = var.outbox_backlog_threshold

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 2
      number_of_evaluation_periods             = 3
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.email.id]
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "failover" {
  name                    = "alert-${var.name}-bot-failover"
  resource_group_name     = var.resource_group_name
  location                = var.location
  description             = "The trading lease moved to another bot replica (a failover happened)."
  display_name            = "trading bot failover"
  scopes                  = [azurerm_application_insights.this.id]
  severity                = 3
  evaluation_frequency    = "PT5M"
  window_duration         = "PT5M"
  auto_mitigation_enabled = true
  tags                    = var.tags

  criteria {
    query                   = <<-KQL
      customEvents
      | where name == "spy_leader_acquired"
      | summarize failovers = count() by bin(timestamp, 5m)
    KQL
    time_aggregation_method = "Total"
    metric_measure_column   = "failovers"
    operator                = "GreaterThan"
    threshold               = 0

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.email.id]
  }
}
