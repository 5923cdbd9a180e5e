variable "environment" {
  type        = string
  description = "Environment name; also the Terraform workspace this configuration must run in."
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "location" {
  type        = string
  description = "Azure region of every resource (short name)."
  validation {
    condition     = contains(["eastus2", "centralus", "westus2", "westeurope"], var.location)
    error_message = "location must be eastus2, centralus, westus2 or westeurope (regions that also host Static Web Apps)."
  }
}

variable "unique_suffix" {
  type        = string
  description = "Short suffix that makes the globally unique names (Key Vault, storage, registry, web app) unique."
  validation {
    condition     = can(regex("^[a-z0-9]{4,6}$", var.unique_suffix))
    error_message = "unique_suffix must be 4-6 lowercase letters or digits."
  }
}

variable "onprem_public_ip" {
  type        = string
  description = "Public IPv4 address of the on-premises VPN device (the edge site). Not a secret."
  validation {
    condition     = can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$", var.onprem_public_ip)) && var.onprem_public_ip != "0.0.0.0"
    error_message = "onprem_public_ip must be a single IPv4 address."
  }
}

variable "onprem_address_space" {
  type        = list(string)
  description = "On-premises prefixes reached through the tunnel."
  validation {
    condition     = length(var.onprem_address_space) > 0 && alltrue([for cidr in var.onprem_address_space : can(cidrhost(cidr, 0))])
    error_message = "onprem_address_space must hold at least one valid CIDR block."
  }
}

variable "edge_ib_gateway" {
  type = object({
    host = string
    port = number
  })
  description = "The IB Gateway on the edge LAN (its MetalLB address) that the backend's detector reads market data from, through the tunnel."
  validation {
    condition     = can(cidrhost("${var.edge_ib_gateway.host}/32", 0)) && contains([4003, 4004], var.edge_ib_gateway.port)
    error_message = "edge_ib_gateway.host must be an IPv4 address and port 4003 (live) or 4004 (paper)."
  }
}

variable "vpn_gateway_sku" {
  type        = string
  description = "VPN gateway SKU: Basic in dev, an availability-zone SKU in prod."
  validation {
    condition     = contains(["Basic", "VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ"], var.vpn_gateway_sku)
    error_message = "vpn_gateway_sku must be Basic, VpnGw1AZ, VpnGw2AZ or VpnGw3AZ."
  }
}

variable "vpn_active_active" {
  type        = bool
  description = "Active-active VPN gateway (AZ SKUs only)."
  validation {
    condition     = !var.vpn_active_active || var.vpn_gateway_sku != "Basic"
    error_message = "The Basic gateway cannot run active-active."
  }
}

variable "vpn_gateway_zones" {
  type        = list(string)
  description = "Availability zones of the gateway's public IPs (empty for Basic)."
  validation {
    condition     = alltrue([for zone in var.vpn_gateway_zones : contains(["1", "2", "3"], zone)]) && (var.vpn_gateway_sku == "Basic" ? length(var.vpn_gateway_zones) == 0 : length(var.vpn_gateway_zones) > 0)
    error_message = "Zones (\"1\"-\"3\") are required for AZ SKUs and not allowed for Basic."
  }
}

variable "vpn_public_ip_sku" {
  type        = string
  description = "SKU of the gateway's public IPs: Basic (Basic gateway) or Standard (AZ SKUs)."
  validation {
    condition     = contains(["Basic", "Standard"], var.vpn_public_ip_sku) && (var.vpn_gateway_sku == "Basic" || var.vpn_public_ip_sku == "Standard")
    error_message = "vpn_public_ip_sku must be Basic or Standard, and Standard for the AZ SKUs."
  }
}

variable "app_service_sku" {
  type        = string
  description = "App Service plan SKU of the backend (Linux)."
  validation {
    condition     = contains(["B1", "B2", "B3", "S1", "S2", "P0v3", "P1v3"], var.app_service_sku)
    error_message = "app_service_sku must be one of B1, B2, B3, S1, S2, P0v3, P1v3."
  }
}

variable "app_service_worker_count" {
  type        = number
  description = "Instances of the App Service plan."
  validation {
    condition     = var.app_service_worker_count >= 1 && var.app_service_worker_count <= 3 && floor(var.app_service_worker_count) == var.app_service_worker_count
    error_message = "app_service_worker_count must be 1, 2 or 3."
  }
}

variable "static_web_sku" {
  type        = string
  description = "Static Web Apps plan of the dashboard."
  validation {
    condition     = contains(["Free", "Standard"], var.static_web_sku)
    error_message = "static_web_sku must be Free or Standard."
  }
}

variable "signalr_sku" {
  type        = string
  description = "SignalR Service SKU: Free_F1 in dev, Standard_S1 in prod."
  validation {
    condition     = contains(["Free_F1", "Standard_S1", "Premium_P1"], var.signalr_sku)
    error_message = "signalr_sku must be Free_F1, Standard_S1 or Premium_P1."
  }
}

variable "signalr_capacity" {
  type        = number
  description = "SignalR units (1 on Free_F1)."
  validation {
    condition     = var.signalr_capacity >= 1 && var.signalr_capacity <= 100 && (var.signalr_sku != "Free_F1" || var.signalr_capacity == 1)
    error_message = "signalr_capacity must be 1-100, and 1 on Free_F1."
  }
}

variable "acr_sku" {
  type        = string
  description = "Container registry SKU."
  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.acr_sku)
    error_message = "acr_sku must be Basic, Standard or Premium."
  }
}

variable "storage_replication_type" {
  type        = string
  description = "Replication of the Table Storage account."
  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.storage_replication_type)
    error_message = "storage_replication_type must be LRS, ZRS, GRS, RAGRS, GZRS or RAGZRS."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of Log Analytics and Application Insights, in days."
  validation {
    condition     = contains([30, 60, 90, 120, 180, 270, 365, 550, 730], var.log_retention_days)
    error_message = "log_retention_days must be one of 30, 60, 90, 120, 180, 270, 365, 550 or 730."
  }
}

variable "monitoring_daily_cap_gb" {
  type        = number
  description = "Daily ingestion cap of Application Insights and Log Analytics, in GB."
  validation {
    condition     = var.monitoring_daily_cap_gb > 0 && var.monitoring_daily_cap_gb <= 100
    error_message = "monitoring_daily_cap_gb must be between 0 and 100."
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

variable "container_instances_enabled" {
  type        = bool
  description = "Run the optional cloud-side detector in Container Instances."
  validation {
    condition     = !var.container_instances_enabled || var.detector_image_tag != "latest"
    error_message = "The cloud-side detector needs an immutable image tag."
  }
}

variable "detector_image_tag" {
  type        = string
  description = "Immutable tag (commit SHA) of the spy-detector image for Container Instances."
  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.detector_image_tag))
    error_message = "detector_image_tag must be a valid image tag."
  }
}

variable "ci_push_principal_id" {
  type        = string
  description = "Object ID of the CI workload identity that pushes images (AcrPush)."
  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", var.ci_push_principal_id))
    error_message = "ci_push_principal_id must be an object ID (GUID)."
  }
}

variable "edge_pull_principal_id" {
  type        = string
  description = "Object ID of the edge cluster's service principal that pulls images (AcrPull)."
  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", var.edge_pull_principal_id))
    error_message = "edge_pull_principal_id must be an object ID (GUID)."
  }
}

variable "usage_estimate" {
  type = object({
    app_insights_ingestion_gb  = number
    log_analytics_ingestion_gb = number
    vpn_egress_gb              = number
    internet_egress_gb         = number
    storage_gb                 = number
    storage_transactions_10k   = number
    key_vault_operations_10k   = number
    flow_logs_gb               = number
  })
  description = "Expected monthly usage. Read only by the cost model (python -m harness.cost); no resource uses it."
  validation {
    condition     = alltrue([for amount in values(var.usage_estimate) : amount >= 0])
    error_message = "Usage figures must be zero or positive."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource."
  validation {
    condition     = alltrue([for key, value in var.tags : length(key) <= 512 && length(value) <= 256])
    error_message = "Tag names must be at most 512 characters and values at most 256."
  }
}
