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

variable "log_retention_days" {
  type        = number
  description = "Retention of the Log Analytics workspace and Application Insights, in days."
  validation {
    condition     = contains([30, 60, 90, 120, 180, 270, 365, 550, 730], var.log_retention_days)
    error_message = "log_retention_days must be one of 30, 60, 90, 120, 180, 270, 365, 550 or 730."
  }
}

variable "daily_cap_gb" {
  type        = number
  description = "Daily ingestion cap of Application Insights and the workspace, in GB (a cost guard)."
  validation {
    condition     = var.daily_cap_gb > 0 && var.daily_cap_gb <= 100
    error_message = "daily_cap_gb must be between 0 and 100."
  }
}

variable "alert_email" {
  type        = string
  description = "Address the email action group notifies."
  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$", var.alert_email))
    error_message = "alert_email must be an email address."
  }
}

variable "app_service_id" {
  type        = string
  description = "The backend web app, for HTTP 5xx and health-check alerts."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Web/sites/[^/]+$", var.app_service_id))
    error_message = "app_service_id must be a web app resource ID."
  }
}

variable "vpn_gateway_id" {
  type        = string
  description = "The VPN gateway, for the tunnel-down alert."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Network/virtualNetworkGateways/[^/]+$", var.vpn_gateway_id))
    error_message = "vpn_gateway_id must be a virtual network gateway resource ID."
  }
}

variable "signal_to_order_p99_ms" {
  type        = number
  description = "Alert when the p99 signal-to-order latency reported by the edge exceeds this many milliseconds."
  default     = 250
  validation {
    condition     = var.signal_to_order_p99_ms >= 10 && var.signal_to_order_p99_ms <= 10000
    error_message = "signal_to_order_p99_ms must be between 10 and 10000."
  }
}

variable "outbox_backlog_threshold" {
  type        = number
  description = "Alert when the edge outbox reports more pending records than this."
  default     = 1000
  validation {
    condition     = var.outbox_backlog_threshold >= 1
    error_message = "outbox_backlog_threshold must be at least 1."
  }
}

variable "key_vault_id" {
  type        = string
  description = "Key Vault that receives the Application Insights connection string (the backend reads it by reference)."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.KeyVault/vaults/[^/]+$", var.key_vault_id))
    error_message = "key_vault_id must be a Key Vault resource ID."
  }
}

variable "connection_string_secret_name" {
  type        = string
  description = "Name of the Key Vault secret that holds the Application Insights connection string."
  default     = "appinsights-connection-string"
  validation {
    condition     = can(regex("^[0-9A-Za-z-]{1,127}$", var.connection_string_secret_name))
    error_message = "connection_string_secret_name must be 1-127 letters, digits or hyphens."
  }
}
