locals {
  basic_gateway = var.vpn_gateway_sku == "Basic"
  # Active-active needs one public IP per gateway instance.
  gateway_instances = var.vpn_active_active ? ["primary", "secondary"] : ["primary"]
}

resource "azurerm_virtual_network" "this" {
  name                = "vnet-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  address_space       = var.address_space
  tags                = var.tags
}

# The VPN gateway's subnet must be called GatewaySubnet and cannot carry an NSG.
resource "azurerm_subnet" "gateway" {
  name                 = "GatewaySubnet"
  resource_group_name  = var.resource_group_name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [var.subnet_prefixes.gateway]
}

resource "azurerm_subnet" "app" {
  name                 = "snet-${var.name}-app"
  resource_group_name  = var.resource_group_name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [var.subnet_prefixes.app]
  service_endpoints    = ["Microsoft.KeyVault", "Microsoft.Storage"]

  delegation {
    name = "app-service"
    service_delegation {
      name    = "Microsoft.Web/serverFarms"
      actions = ["Microsoft.Network/virtualNetworks/subnets/action"]
    }
  }
}

resource "azurerm_subnet" "private_endpoints" {
  name                              = "snet-${var.name}-endpoints"
  resource_group_name               = var.resource_group_name
  virtual_network_name              = azurerm_virtual_network.this.name
  address_prefixes                  = [var.subnet_prefixes.private_endpoints]
  private_endpoint_network_policies = "Enabled"
}

resource "azurerm_subnet" "containers" {
  name                 = "snet-${var.name}-containers"
  resource_group_name  = var.resource_group_name
  virtual_network_name = azurerm_virtual_network.this.name
  address_prefixes     = [var.subnet_prefixes.containers]
  service_endpoints    = ["Microsoft.KeyVault", "Microsoft.Storage"]

  delegation {
    name = "container-instances"
    service_delegation {
      name    = "Microsoft.ContainerInstance/containerGroups"
      actions = ["Microsoft.Network/virtualNetworks/subnets/action"]
    }
  }
}

resource "azurerm_public_ip" "gateway" {
  for_each = toset(local.gateway_instances)

  name                = "pip-${var.name}-vpn-${each.key}"
  location            = var.location
  resource_group_name = var.resource_group_name
  sku                 = var.vpn_public_ip_sku
  allocation_method   = var.vpn_public_ip_sku == "Basic" ? "Dynamic" : "Static"
  zones               = local.basic_gateway ? null : var.vpn_gateway_zones
  tags                = var.tags
}

# Route-based gateway. Basic (dev): IKEv2 site-to-site, 100 Mbps, static routing, no BGP, no
# active-active, no custom IPsec policy. AZ SKUs (prod): zone-redundant, active-active.
resource "azurerm_virtual_network_gateway" "this" {
  name                = "vgw-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  type                = "Vpn"
  vpn_type            = "RouteBased"
  sku                 = var.vpn_gateway_sku
  active_active       = var.vpn_active_active
  tags                = var.tags

  dynamic "ip_configuration" {
    for_each = azurerm_public_ip.gateway
    content {
      name                          = "ipconfig-${ip_configuration.key}"
      public_ip_address_id          = ip_configuration.value.id
      private_ip_address_allocation = "Dynamic"
      subnet_id                     = azurerm_subnet.gateway.id
    }
  }
}

resource "azurerm_local_network_gateway" "onprem" {
  name                = "lgw-${var.name}-onprem"
  location            = var.location
  resource_group_name = var.resource_group_name
  gateway_address     = var.onprem_public_ip
  # Static routing: these prefixes are sent through the tunnel; no BGP.
  address_space = var.onprem_address_space
  tags          = var.tags
}

# The pre-shared key lives only in Key Vault (set out of band); Terraform reads it at apply time.
data "azurerm_key_vault_secret" "vpn_shared_key" {
  name         = var.vpn_shared_key_secret_name
  key_vault_id = var.key_vault_id
}

resource "azurerm_virtual_network_gateway_connection" "onprem" {
  name                       = "cn-${var.name}-onprem"
  location                   = var.location
  resource_group_name        = var.resource_group_name
  type                       = "IPsec"
  virtual_network_gateway_id = azurerm_virtual_network_gateway.this.id
  local_network_gateway_id   = azurerm_local_network_gateway.onprem.id
  shared_key                 = data.azurerm_key_vault_secret.vpn_shared_key.value
  # A route-based Basic gateway always negotiates IKEv2 and rejects the explicit setting.
  connection_protocol = local.basic_gateway ? null : "IKEv2"
  dpd_timeout_seconds = local.basic_gateway ? null : 45
  tags                = var.tags

  # Custom IPsec/IKE parameters need VpnGw1 or above: pinned in prod only.
  dynamic "ipsec_policy" {
    for_each = local.basic_gateway ? [] : ["pinned"]
    content {
      ike_encryption   = "AES256"
      ike_integrity    = "SHA256"
      dh_group         = "DHGroup14"
      ipsec_encryption = "GCMAES256"
      ipsec_integrity  = "GCMAES256"
      pfs_group        = "PFS2048"
      sa_lifetime      = 27000
    }
  }
}

# Admits only the on-premises VPN device's public IP: IKE (UDP 500) and NAT-T (UDP 4500), and the
# app ports. Tunnelled traffic from the on-prem LAN arrives as VirtualNetwork (Azure's default
# AllowVnetInBound); everything else from the internet meets the default DenyAllInBound.
resource "azurerm_network_security_group" "this" {
  name                = "nsg-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  tags                = var.tags

  security_rule {
    name                       = "allow-onprem-ike"
    description                = "IKE and NAT-T from the on-premises VPN device only"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Udp"
    source_address_prefix      = var.onprem_public_ip
    source_port_range          = "*"
    destination_address_prefix = "VirtualNetwork"
    destination_port_ranges    = ["500", "4500"]
  }

  security_rule {
    name                       = "allow-onprem-app"
    description                = "Application ports from the on-premises site only"
    priority                   = 110
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_address_prefix      = var.onprem_public_ip
    source_port_range          = "*"
    destination_address_prefix = "VirtualNetwork"
    destination_port_ranges    = [for port in var.app_ports : tostring(port)]
  }
}

resource "azurerm_subnet_network_security_group_association" "app" {
  subnet_id                 = azurerm_subnet.app.id
  network_security_group_id = azurerm_network_security_group.this.id
}

resource "azurerm_subnet_network_security_group_association" "private_endpoints" {
  subnet_id                 = azurerm_subnet.private_endpoints.id
  network_security_group_id = azurerm_network_security_group.this.id
}

resource "azurerm_subnet_network_security_group_association" "containers" {
  subnet_id                 = azurerm_subnet.containers.id
  network_security_group_id = azurerm_network_security_group.this.id
}

# Flow logging: VNet flow logs (NSG flow logs can no longer be created since 2025-06-30) with
# traffic analytics; the NSG's own rule events and counters go to Log Analytics for audit.
resource "azurerm_network_watcher_flow_log" "vnet" {
  name                 = "fl-${var.name}-vnet"
  network_watcher_name = var.network_watcher_name
  resource_group_name  = var.network_watcher_resource_group_name
  target_resource_id   = azurerm_virtual_network.this.id
  storage_account_id   = var.flow_log_storage_account_id
  enabled              = true
  version              = 2
  tags                 = var.tags

  retention_policy {
    enabled = true
    days    = var.flow_log_retention_days
  }

  traffic_analytics {
    enabled               = true
    workspace_id          = var.log_analytics_workspace_guid
    workspace_region      = var.location
    workspace_resource_id = var.log_analytics_workspace_id
    interval_in_minutes   = 10
  }
}

resource "azurerm_monitor_diagnostic_setting" "nsg" {
  name                       = "diag-${var.name}-nsg"
  target_resource_id         = azurerm_network_security_group.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "NetworkSecurityGroupEvent"
  }

  enabled_log {
    category = "NetworkSecurityGroupRuleCounter"
  }
}

resource "azurerm_monitor_diagnostic_setting" "gateway" {
  name                       = "diag-${var.name}-vgw"
  target_resource_id         = azurerm_virtual_network_gateway.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "GatewayDiagnosticLog"
  }

  enabled_log {
    category = "TunnelDiagnosticLog"
  }

  enabled_log {
    category = "IKEDiagnosticLog"
  }

  enabled_log {
    category = "RouteDiagnosticLog"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}
