output "enabled" {
  description = "Whether the container group exists."
  value       = var.enabled
}

output "private_ip" {
  description = "Private IP of the detector (null when disabled)."
  value       = var.enabled ? azurerm_container_group.this[0].ip_address : null
}

output "principal_id" {
  description = "Object ID of the detector's identity (null when disabled)."
  value       = var.enabled ? azurerm_user_assigned_identity.this[0].principal_id : null
}
