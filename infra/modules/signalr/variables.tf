variable "name" {
  type        = string
  description = "Name stem for every resource in this module, e.g. spyh-dev."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,38}[a-z0-9]$", var.name))
    error_message = "name must be 4-40 lowercase letters, digits or hyphens, starting with a letter."
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

variable "sku_name" {
  type        = string
  description = "SignalR Service SKU: Free_F1 (dev: 20 connections, 20,000 messages/day, no SLA) or Standard_S1 / Premium_P1."
  validation {
    condition     = contains(["Free_F1", "Standard_S1", "Premium_P1"], var.sku_name)
    error_message = "sku_name must be Free_F1, Standard_S1 or Premium_P1."
  }
}

variable "capacity" {
  type        = number
  description = "Units: 1 on Free_F1; 1-10, then 20-100 in steps of 10, on Standard and Premium."
  validation {
    condition     = contains([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], var.capacity) && (var.sku_name != "Free_F1" || var.capacity == 1)
    error_message = "capacity must be 1 on Free_F1, otherwise 1-10 or 20-100 in steps of 10."
  }
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Origins allowed to connect from a browser (the dashboard)."
  validation {
    condition     = length(var.cors_allowed_origins) > 0 && alltrue([for origin in var.cors_allowed_origins : can(regex("^https://", origin))])
    error_message = "cors_allowed_origins must hold at least one https:// origin (never *)."
  }
}

variable "key_vault_id" {
  type        = string
  description = "Key Vault that receives the service's connection string (the backend reads it by reference)."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.KeyVault/vaults/[^/]+$", var.key_vault_id))
    error_message = "key_vault_id must be a Key Vault resource ID."
  }
}

variable "connection_string_secret_name" {
  type        = string
  description = "Name of the Key Vault secret that holds the connection string."
  default     = "signalr-connection-string"
  validation {
    condition     = can(regex("^[0-9A-Za-z-]{1,127}$", var.connection_string_secret_name))
    error_message = "connection_string_secret_name must be 1-127 letters, digits or hyphens."
  }
}
