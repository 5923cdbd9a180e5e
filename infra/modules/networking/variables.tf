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
  description = "Resource group that holds the network."
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

variable "address_space" {
  type        = list(string)
  description = "Address space of the cloud VNet."
  default     = ["10.0.0.0/16"]
  validation {
    condition     = length(var.address_space) > 0 && alltrue([for cidr in var.address_space : can(cidrhost(cidr, 0))])
    error_message = "address_space must hold at least one valid CIDR block."
  }
}

variable "subnet_prefixes" {
  type = object({
    gateway           = string
    app               = string
    private_endpoints = string
    containers        = string
  })
  description = "CIDR of each subnet: gateway (GatewaySubnet, /27 or larger), app (App Service VNet integration), private_endpoints, containers (Container Instances)."
  default = {
    gateway           = "10.0.255.0/27"
    app               = "10.0.1.0/24"
    private_endpoints = "10.0.2.0/24"
    containers        = "10.0.3.0/24"
  }
  validation {
    condition     = alltrue([for cidr in values(var.subnet_prefixes) : can(cidrhost(cidr, 0))])
    error_message = "Every subnet prefix must be a valid CIDR block."
  }
  validation {
    condition     = tonumber(split("/", var.subnet_prefixes.gateway)[1]) <= 27
    error_message = "The GatewaySubnet must be /27 or larger."
  }
}

variable "vpn_gateway_sku" {
  type        = string
  description = "Route-based VPN gateway SKU: Basic (dev: 100 Mbps, no BGP, no active-active) or an availability-zone SKU (prod)."
  validation {
    condition     = contains(["Basic", "VpnGw1AZ", "VpnGw2AZ", "VpnGw3AZ"], var.vpn_gateway_sku)
    error_message = "vpn_gateway_sku must be Basic, VpnGw1AZ, VpnGw2AZ or VpnGw3AZ (non-AZ VpnGw1-5 cannot be created since 2025-01-01)."
  }
}

variable "vpn_active_active" {
  type        = bool
  description = "Run the VPN gateway active-active (two instances, two public IPs). Not available on Basic."
  validation {
    condition     = !var.vpn_active_active || var.vpn_gateway_sku != "Basic"
    error_message = "vpn_active_active needs an availability-zone SKU: the Basic gateway cannot run active-active."
  }
}

variable "vpn_gateway_zones" {
  type        = list(string)
  description = "Availability zones of the gateway's public IPs (AZ SKUs only; empty for Basic)."
  default     = []
  validation {
    condition     = alltrue([for zone in var.vpn_gateway_zones : contains(["1", "2", "3"], zone)])
    error_message = "vpn_gateway_zones may only contain \"1\", \"2\" and \"3\"."
  }
  validation {
    condition     = var.vpn_gateway_sku == "Basic" ? length(var.vpn_gateway_zones) == 0 : length(var.vpn_gateway_zones) > 0
    error_message = "Zones are required for the availability-zone SKUs and not allowed for Basic."
  }
}

variable "vpn_public_ip_sku" {
  type        = string
  description = "SKU of the gateway's public IPs: Basic (what the Basic gateway accepts today) or Standard (AZ SKUs)."
  validation {
    condition     = contains(["Basic", "Standard"], var.vpn_public_ip_sku)
    error_message = "vpn_public_ip_sku must be Basic or Standard."
  }
  validation {
    condition     = var.vpn_gateway_sku == "Basic" || var.vpn_public_ip_sku == "Standard"
    error_message = "The availability-zone gateway SKUs need Standard public IPs."
  }
}

variable "onprem_public_ip" {
  type        = string
  description = "Public IPv4 address of the on-premises VPN device: the only source the NSG admits."
  validation {
    condition     = can(regex("^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$", var.onprem_public_ip)) && var.onprem_public_ip != "0.0.0.0"
    error_message = "onprem_public_ip must be a single IPv4 address (no CIDR, not 0.0.0.0)."
  }
}

variable "onprem_address_space" {
  type        = list(string)
  description = "On-premises prefixes routed through the tunnel (static routing via the local network gateway)."
  default     = ["192.168.1.0/24"]
  validation {
    condition     = length(var.onprem_address_space) > 0 && alltrue([for cidr in var.onprem_address_space : can(cidrhost(cidr, 0))])
    error_message = "onprem_address_space must hold at least one valid CIDR block."
  }
}

variable "app_ports" {
  type        = list(number)
  description = "TCP ports the on-premises site may reach in the VNet besides IKE (UDP 500/4500)."
  default     = [443]
  validation {
    condition     = length(var.app_ports) > 0 && alltrue([for port in var.app_ports : port >= 1 && port <= 65535 && floor(port) == port])
    error_message = "app_ports must be TCP port numbers between 1 and 65535."
  }
}

variable "key_vault_id" {
  type        = string
  description = "Key Vault holding the VPN pre-shared key."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.KeyVault/vaults/[^/]+$", var.key_vault_id))
    error_message = "key_vault_id must be a Key Vault resource ID."
  }
}

variable "vpn_shared_key_secret_name" {
  type        = string
  description = "Name of the Key Vault secret holding the IPsec pre-shared key (set out of band, never in Terraform)."
  default     = "vpn-shared-key"
  validation {
    condition     = can(regex("^[0-9A-Za-z-]{1,127}$", var.vpn_shared_key_secret_name))
    error_message = "vpn_shared_key_secret_name must be 1-127 letters, digits or hyphens."
  }
}

variable "log_analytics_workspace_id" {
  type        = string
  description = "Resource ID of the Log Analytics workspace that receives NSG, gateway and flow-log records."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.OperationalInsights/workspaces/[^/]+$", var.log_analytics_workspace_id))
    error_message = "log_analytics_workspace_id must be a Log Analytics workspace resource ID."
  }
}

variable "log_analytics_workspace_guid" {
  type        = string
  description = "Workspace (customer) ID of the same Log Analytics workspace, for traffic analytics."
  validation {
    condition     = can(regex("^[0-9a-fA-F-]{36}$", var.log_analytics_workspace_guid))
    error_message = "log_analytics_workspace_guid must be a GUID."
  }
}

variable "flow_log_storage_account_id" {
  type        = string
  description = "Storage account that keeps the raw flow logs."
  validation {
    condition     = can(regex("^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Storage/storageAccounts/[^/]+$", var.flow_log_storage_account_id))
    error_message = "flow_log_storage_account_id must be a storage account resource ID."
  }
}

variable "flow_log_retention_days" {
  type        = number
  description = "Days to keep flow logs (90 or more)."
  default     = 90
  validation {
    condition     = var.flow_log_retention_days >= 90 && var.flow_log_retention_days <= 365
    error_message = "flow_log_retention_days must be between 90 and 365."
  }
}

variable "network_watcher_name" {
  type        = string
  description = "Network Watcher of the region (Azure creates NetworkWatcher_<region> in NetworkWatcherRG)."
  validation {
    condition     = can(regex("^[-\\w._]{1,80}$", var.network_watcher_name))
    error_message = "network_watcher_name must be 1-80 word characters, hyphens or periods."
  }
}

variable "network_watcher_resource_group_name" {
  type        = string
  description = "Resource group of the Network Watcher."
  default     = "NetworkWatcherRG"
  validation {
    condition     = can(regex("^[-\\w._()]{1,90}$", var.network_watcher_resource_group_name))
    error_message = "network_watcher_resource_group_name must be a valid resource group name."
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
