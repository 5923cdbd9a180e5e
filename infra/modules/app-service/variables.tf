variable "name" {
  type        = string
  description = "Globally unique web app name (also the plan's name stem)."
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,58}[a-z0-9]$", var.name))
    error_message = "name must be 3-60 lowercase letters, digits or hyphens."
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
  description = "App Service plan SKU (Linux): B1 in dev."
  validation {
    condition     = contains(["B1", "B2", "B3", "S1", "S2", "P0v3", "P1v3"], var.sku_name)
    error_message = "sku_name must be one of B1, B2, B3, S1, S2, P0v3, P1v3."
  }
}

variable "worker_count" {
  type        = number
  description = "Instances of the plan (Basic allows up to 3)."
  validation {
    condition     = var.worker_count >= 1 && var.worker_count <= 3 && floor(var.worker_count) == var.worker_count
    error_message = "worker_count must be 1, 2 or 3."
  }
}

variable "python_version" {
  type        = string
  description = "Python runtime of the Linux web app."
  default     = "3.11"
  validation {
    condition     = contains(["3.11", "3.12"], var.python_version)
    error_message = "python_version must be 3.11 or 3.12."
  }
}

variable "health_check_path" {
  type        = string
  description = "Path App Service probes; an instance failing it is taken out of rotation."
  default     = "/health"
  validation {
    condition     = startswith(var.health_check_path, "/")
    error_message = "health_check_path must start with /."
  }
}

variable "startup_command" {
  type        = string
  description = "Command that starts the backend."
  default     = "python -m system.services.backend"
  validation {
    condition     = length(trimspace(var.startup_command)) > 0
    error_message = "startup_command must not be empty."
  }
}

variable "subnet_id" {
  type        = string
  description = "Subnet delegated to Microsoft.Web/serverFarms for VNet integration."
  validation {
    condition     = can(regex("/subnets/[^/]+$", var.subnet_id))
    error_message = "subnet_id must be a subnet resource ID."
  }
}

variable "key_vault_id" {
  type        = string
  description = "Key Vault the app's settings reference; the app's identity gets Key Vault Secrets User on it."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.KeyVault/vaults/[^/]+$", var.key_vault_id))
    error_message = "key_vault_id must be a Key Vault resource ID."
  }
}

variable "key_vault_name" {
  type        = string
  description = "Name of that Key Vault, used in @Microsoft.KeyVault(...) references."
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$", var.key_vault_name))
    error_message = "key_vault_name must be a Key Vault name."
  }
}

variable "secret_settings" {
  type        = map(string)
  description = "App settings resolved from Key Vault: setting name => secret name. Only names here, never values."
  validation {
    condition     = alltrue([for secret in values(var.secret_settings) : can(regex("^[0-9A-Za-z-]{1,127}$", secret))])
    error_message = "secret_settings values must be Key Vault secret names."
  }
}

variable "plain_settings" {
  type        = map(string)
  description = "Non-secret app settings (endpoints, feature switches)."
  default     = {}
  validation {
    condition     = alltrue([for key in keys(var.plain_settings) : !can(regex("(?i)(password|token|api_?key|access_?key|account_?key|client_?secret|connection_?string)", key))])
    error_message = "A setting whose name looks secret belongs in secret_settings (a Key Vault reference)."
  }
}

variable "storage_account_id" {
  type        = string
  description = "Storage account whose tables the backend writes (the app's identity gets Storage Table Data Contributor)."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Storage/storageAccounts/[^/]+$", var.storage_account_id))
    error_message = "storage_account_id must be a storage account resource ID."
  }
}

variable "cors_allowed_origins" {
  type        = list(string)
  description = "Origins allowed to call the backend from a browser (the dashboard)."
  validation {
    condition     = alltrue([for origin in var.cors_allowed_origins : can(regex("^https://", origin))])
    error_message = "cors_allowed_origins must be https:// origins."
  }
}
