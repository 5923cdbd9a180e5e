output "id" {
  description = "ID of the Static Web App."
  value       = azurerm_static_web_app.this.id
}

output "default_host_name" {
  description = "Host name the dashboard is served from."
  value       = azurerm_static_web_app.this.default_host_name
}

output "origin" {
  description = "https origin of the dashboard, for CORS on the backend and SignalR."
  value       = "https://${azurerm_static_web_app.this.default_host_name}"
}
