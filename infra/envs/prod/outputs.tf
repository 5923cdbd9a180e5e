output "resource_group_name" {
  description = "Resource group of the environment."
  value       = azurerm_resource_group.this.name
}

output "backend_hostname" {
  description = "Host name of the backend web app."
  value       = module.app_service.default_hostname
}

output "dashboard_origin" {
  description = "https origin of the dashboard."
  value       = module.static_web.origin
}

output "signalr_hostname" {
  description = "Host name of the SignalR Service."
  value       = module.signalr.hostname
}

output "vpn_gateway_public_ips" {
  description = "Gateway public IPs to configure on the on-premises VPN device."
  value       = module.networking.vpn_gateway_public_ips
}

output "acr_login_server" {
  description = "Registry the CI pushes images to."
  value       = module.acr.login_server
}

output "key_vault_uri" {
  description = "Key Vault URI."
  value       = module.key_vault.vault_uri
}

output "table_endpoint" {
  description = "Table Storage endpoint."
  value       = module.storage.table_endpoint
}
