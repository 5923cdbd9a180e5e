output "vnet_id" {
  description = "ID of the cloud VNet."
  value       = azurerm_virtual_network.this.id
}

output "app_subnet_id" {
  description = "Subnet for App Service VNet integration."
  value       = azurerm_subnet.app.id
}

output "private_endpoints_subnet_id" {
  description = "Subnet for private endpoints."
  value       = azurerm_subnet.private_endpoints.id
}

output "containers_subnet_id" {
  description = "Subnet delegated to Container Instances."
  value       = azurerm_subnet.containers.id
}

output "vpn_gateway_id" {
  description = "ID of the VPN gateway."
  value       = azurerm_virtual_network_gateway.this.id
}

output "vpn_connection_id" {
  description = "ID of the site-to-site connection to the on-premises site."
  value       = azurerm_virtual_network_gateway_connection.onprem.id
}

output "vpn_gateway_public_ips" {
  description = "Public IPs of the VPN gateway, one per instance (configure them on the on-prem device)."
  value       = { for instance, ip in azurerm_public_ip.gateway : instance => ip.ip_address }
}

output "network_security_group_id" {
  description = "ID of the NSG that admits only the on-premises public IP."
  value       = azurerm_network_security_group.this.id
}
