output "id" {
  description = "ID of the SignalR Service."
  value       = azurerm_signalr_service.this.id
}

output "hostname" {
  description = "Host name clients and the REST API use."
  value       = azurerm_signalr_service.this.hostname
}

output "connection_string_secret_name" {
  description = "Key Vault secret that holds the connection string."
  value       = azurerm_key_vault_secret.connection_string.name
}
