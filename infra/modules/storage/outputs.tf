output "id" {
  description = "ID of the storage account."
  value       = azurerm_storage_account.this.id
}

output "name" {
  description = "Name of the storage account."
  value       = azurerm_storage_account.this.name
}

output "table_endpoint" {
  description = "Table service endpoint (clients authenticate with Entra ID)."
  value       = azurerm_storage_account.this.primary_table_endpoint
}

output "table_names" {
  description = "Names of the tables created."
  value       = sort([for table in azurerm_storage_table.this : table.name])
}

output "connection_string_secret_name" {
  description = "Key Vault secret holding the Table Storage connection string."
  value       = azurerm_key_vault_secret.tables_connection_string.name
}
