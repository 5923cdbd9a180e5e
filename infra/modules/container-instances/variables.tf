variable "enabled" {
  type        = bool
  description = "Create the container group at all (the optional cloud-side detector); off by default."
  default     = false
  validation {
    condition     = !var.enabled || var.image_tag != "latest"
    error_message = "An enabled container group must run an immutable image tag, not latest."
  }
}

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

variable "subnet_id" {
  type        = string
  description = "Subnet delegated to Microsoft.ContainerInstance/containerGroups (private IP only)."
  validation {
    condition     = can(regex("/subnets/[^/]+$", var.subnet_id))
    error_message = "subnet_id must be a subnet resource ID."
  }
}

variable "acr_id" {
  type        = string
  description = "Registry the image is pulled from (the group's identity gets AcrPull)."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.ContainerRegistry/registries/[^/]+$", var.acr_id))
    error_message = "acr_id must be a container registry resource ID."
  }
}

variable "acr_login_server" {
  type        = string
  description = "Login server of that registry."
  validation {
    condition     = can(regex("^[a-z0-9]+\\.azurecr\\.io$", var.acr_login_server))
    error_message = "acr_login_server must look like <name>.azurecr.io."
  }
}

variable "image_tag" {
  type        = string
  description = "Immutable tag (the commit SHA) of the spy-detector image."
  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid image tag."
  }
}

variable "cpu" {
  type        = number
  description = "vCPUs of the detector container."
  default     = 1
  validation {
    condition     = var.cpu >= 0.25 && var.cpu <= 4
    error_message = "cpu must be between 0.25 and 4."
  }
}

variable "memory_gb" {
  type        = number
  description = "Memory of the detector container, in GB."
  default     = 1.5
  validation {
    condition     = var.memory_gb >= 0.5 && var.memory_gb <= 16
    error_message = "memory_gb must be between 0.5 and 16."
  }
}

variable "environment_variables" {
  type        = map(string)
  description = "Settings of the detector (SPY_DETECTOR_*). Secret values do not belong here: the detector reads its secrets from Key Vault through its identity, by name (SPY_DETECTOR_*_SECRET)."
  default     = {}
  validation {
    condition     = alltrue([for key in keys(var.environment_variables) : !can(regex("(?i)(password|token|access_?key|account_?key|connection_?string)$", key))])
    error_message = "A setting named like a secret value (…PASSWORD, …TOKEN, …ACCESS_KEY, …ACCOUNT_KEY, …CONNECTION_STRING) belongs in secure_environment_variables or in Key Vault."
  }
}

variable "secure_environment_variables" {
  type        = map(string)
  description = "Settings whose values must stay out of plans and logs, e.g. the Application Insights connection string."
  default     = {}
  sensitive   = true
  validation {
    condition     = alltrue([for key in keys(var.secure_environment_variables) : can(regex("^[A-Z][A-Z0-9_]{0,127}$", key))])
    error_message = "secure_environment_variables keys must be environment variable names (upper case, digits, underscores)."
  }
}

variable "key_vault_id" {
  type        = string
  description = "Key Vault holding the secrets the detector reads; its identity gets Key Vault Secrets User on it."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.KeyVault/vaults/[^/]+$", var.key_vault_id))
    error_message = "key_vault_id must be a Key Vault resource ID."
  }
}
