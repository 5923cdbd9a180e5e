variable "name" {
  type        = string
  description = "Globally unique storage account name (3-24 lowercase letters and digits)."
  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.name))
    error_message = "name must be 3-24 lowercase letters and digits."
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

variable "replication_type" {
  type        = string
  description = "Replication of the storage account: LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS."
  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.replication_type)
    error_message = "replication_type must be LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS."
  }
}

variable "tables" {
  type        = list(string)
  description = "Tables to create: every table the services write (anomalies; the edge's audit, outcomes, metrics and metricsdaily)."
  default     = ["anomalies", "audit", "outcomes", "metrics", "metricsdaily"]
  validation {
    condition     = alltrue([for table in var.tables : can(regex("^[A-Za-z][A-Za-z0-9]{2,62}$", table))])
    error_message = "Table names must be 3-63 letters and digits, starting with a letter."
  }
}

variable "allowed_ip_addresses" {
  type        = list(string)
  description = "Public IPs allowed through the storage firewall (the on-premises site, whose forwarder writes the outbox)."
  validation {
    condition     = alltrue([for ip in var.allowed_ip_addresses : can(cidrhost("${ip}/32", 0)) && ip != "0.0.0.0"])
    error_message = "allowed_ip_addresses must be single IPv4 addresses."
  }
}

variable "allowed_subnet_ids" {
  type        = list(string)
  description = "Subnets (with the Microsoft.Storage service endpoint) allowed through the storage firewall."
  validation {
    condition     = alltrue([for id in var.allowed_subnet_ids : can(regex("/subnets/[^/]+$", id))])
    error_message = "allowed_subnet_ids must be subnet resource IDs."
  }
}

variable "soft_delete_retention_days" {
  type        = number
  description = "Days deleted blobs and containers (flow logs) stay recoverable."
  default     = 7
  validation {
    condition     = var.soft_delete_retention_days >= 1 && var.soft_delete_retention_days <= 365
    error_message = "soft_delete_retention_days must be between 1 and 365."
  }
}

variable "key_vault_id" {
  type        = string
  description = "Key Vault that receives the Table Storage connection string (the backend and the edge forwarder read it)."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.KeyVault/vaults/[^/]+$", var.key_vault_id))
    error_message = "key_vault_id must be a Key Vault resource ID."
  }
}

variable "connection_string_secret_name" {
  type        = string
  description = "Name of the Key Vault secret that holds the Table Storage connection string."
  default     = "tables-connection-string"
  validation {
    condition     = can(regex("^[0-9A-Za-z-]{1,127}$", var.connection_string_secret_name))
    error_message = "connection_string_secret_name must be 1-127 letters, digits or hyphens."
  }
}
