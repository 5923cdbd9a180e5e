variable "name" {
  type        = string
  description = "Globally unique Key Vault name (3-24 characters)."
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", var.name))
    error_message = "name must be 3-24 letters, digits or hyphens, starting with a letter."
  }
}

variable "resource_group_name" {
  type        = string
  description = "Resource group that holds this module's resources."
  validation {
    condition     = can(regex("^[-\\w._()]{1,90}$", var.resource_group_name))
    error_message = "resource_group_name must be 1-90 word characters, hyphens, periods or parentheses."
  }
}

variable "location" {
  type        = string
  description = "Azure region (short name, e.g. eastus2)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9]+$", var.location))
    error_message = "location must be an Azure region short name such as eastus2."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags applied to every resource."
  default     = {}
  validation {
    condition     = alltrue([for key, value in var.tags : length(key) <= 512 && length(value) <= 256])
    error_message = "Tag names must be at most 512 characters and values at most 256."
  }
}

variable "log_analytics_workspace_id" {
  type        = string
  description = "Resource ID of the Log Analytics workspace that receives this module's diagnostic logs."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.OperationalInsights/workspaces/[^/]+$", var.log_analytics_workspace_id))
    error_message = "log_analytics_workspace_id must be a Log Analytics workspace resource ID."
  }
}

variable "tenant_id" {
  type        = string
  description = "Microsoft Entra tenant that authenticates requests to the vault."
  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", var.tenant_id))
    error_message = "tenant_id must be a GUID."
  }
}

variable "soft_delete_retention_days" {
  type        = number
  description = "Days a deleted vault, key or secret stays recoverable (set once, cannot change)."
  default     = 90
  validation {
    condition     = var.soft_delete_retention_days >= 7 && var.soft_delete_retention_days <= 90
    error_message = "soft_delete_retention_days must be between 7 and 90."
  }
}

variable "allowed_ip_addresses" {
  type        = list(string)
  description = "Public IPs allowed through the vault firewall (the on-premises site, where the deploy runner lives)."
  validation {
    condition     = alltrue([for ip in var.allowed_ip_addresses : can(cidrhost("${ip}/32", 0)) && ip != "0.0.0.0"])
    error_message = "allowed_ip_addresses must be single IPv4 addresses."
  }
}

variable "allowed_subnet_ids" {
  type        = list(string)
  description = "Subnets (with the Microsoft.KeyVault service endpoint) allowed through the vault firewall."
  validation {
    condition     = alltrue([for id in var.allowed_subnet_ids : can(regex("/subnets/[^/]+$", id))])
    error_message = "allowed_subnet_ids must be subnet resource IDs."
  }
}

variable "administrator_object_ids" {
  type        = list(string)
  description = "Principals (the deploy identity) granted Key Vault Administrator to manage keys and secrets."
  validation {
    condition     = length(var.administrator_object_ids) > 0 && alltrue([for id in var.administrator_object_ids : can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", id))])
    error_message = "administrator_object_ids must hold at least one object ID (GUID)."
  }
}

variable "ibkr_key_name" {
  type        = string
  description = "Name of the RSA key that signs IBKR OAuth requests."
  default     = "ibkr-oauth-signing"
  validation {
    condition     = can(regex("^[0-9A-Za-z-]{1,127}$", var.ibkr_key_name))
    error_message = "ibkr_key_name must be 1-127 letters, digits or hyphens."
  }
}

variable "ibkr_key_rotation" {
  type = object({
    expire_after         = string
    rotate_before_expiry = string
    notify_before_expiry = string
  })
  description = "Rotation policy of the IBKR key as ISO 8601 durations: lifetime, rotate this long before expiry, notify this long before expiry."
  default = {
    expire_after         = "P90D"
    rotate_before_expiry = "P30D"
    notify_before_expiry = "P29D"
  }
  validation {
    condition     = alltrue([for duration in values(var.ibkr_key_rotation) : can(regex("^P[0-9]+[DMY]$", duration))])
    error_message = "Rotation durations must be ISO 8601 day, month or year durations such as P90D."
  }
}
