output "log_analytics_workspace_id" {
  description = "Resource ID of the Log Analytics workspace."
  value       = azurerm_log_analytics_workspace.this.id
}

output "log_analytics_workspace_guid" {
  description = "Workspace (customer) ID of the Log Analytics workspace."
  value       = azurerm_log_analytics_workspace.this.workspace_id
}

output "application_insights_id" {
  description = "ID of Application Insights."
  value       = azurerm_application_insights.this.id
}

output "connection_string_secret_name" {
  description = "Key Vault secret holding the Application Insights connection string."
  value       = azurerm_key_vault_secret.connection_string.name
}

output "action_group_id" {
  description = "ID of the email action group."
  value       = azurerm_monitor_action_group.email.id
}

output "connection_string" {
  description = "Application Insights connection string, for what cannot use a Key Vault reference (Container Instances)."
  value       = azurerm_application_insights.this.connection_string
  sensitive   = true
}
