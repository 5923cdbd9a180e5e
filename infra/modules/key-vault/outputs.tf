output "id" {
  description = "ID of the Key Vault."
  value       = azurerm_key_vault.this.id
}

output "name" {
  description = "Name of the Key Vault (used in App Service Key Vault references)."
  value       = azurerm_key_vault.this.name
}

output "vault_uri" {
  description = "URI of the Key Vault."
  value       = azurerm_key_vault.this.vault_uri
}

output "ibkr_key_id" {
  description = "Versionless ID of the IBKR signing key."
  value       = azurerm_key_vault_key.ibkr.versionless_id
}
