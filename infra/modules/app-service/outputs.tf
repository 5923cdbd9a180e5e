output "id" {
  description = "ID of the web app."
  value       = azurerm_linux_web_app.this.id
}

output "default_hostname" {
  description = "Default host name of the backend (https)."
  value       = azurerm_linux_web_app.this.default_hostname
}

output "principal_id" {
  description = "Object ID of the web app's system-assigned identity."
  value       = azurerm_linux_web_app.this.identity[0].principal_id
}

output "service_plan_id" {
  description = "ID of the App Service plan."
  value       = azurerm_service_plan.this.id
}
