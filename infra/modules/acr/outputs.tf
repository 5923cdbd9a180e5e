output "id" {
  description = "ID of the registry."
  value       = azurerm_container_registry.this.id
}

output "login_server" {
  description = "Login server images are pushed to and pulled from."
  value       = azurerm_container_registry.this.login_server
}
