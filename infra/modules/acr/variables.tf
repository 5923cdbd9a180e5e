variable "name" {
  type        = string
  description = "Globally unique registry name (5-50 letters and digits)."
  validation {
    condition     = can(regex("^[a-zA-Z0-9]{5,50}$", var.name))
    error_message = "name must be 5-50 letters and digits."
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

variable "sku" {
  type        = string
  description = "Registry SKU: Basic (10 GB included)."
  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.sku)
    error_message = "sku must be Basic, Standard or Premium."
  }
}

variable "pull_principal_ids" {
  type        = map(string)
  description = "Identities that pull images (AcrPull), by a static label: label => object ID."
  default     = {}
  validation {
    condition     = alltrue([for id in values(var.pull_principal_ids) : can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", id))])
    error_message = "pull_principal_ids values must be object IDs (GUIDs)."
  }
}

variable "push_principal_ids" {
  type        = map(string)
  description = "Identities that push images (AcrPush), e.g. the CI workload identity: label => object ID."
  default     = {}
  validation {
    condition     = alltrue([for id in values(var.push_principal_ids) : can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", id))])
    error_message = "push_principal_ids values must be object IDs (GUIDs)."
  }
}
