# RBAC-authorised vault with soft delete and purge protection: a deleted vault or secret stays
# recoverable for soft_delete_retention_days and cannot be purged early. Premium, because the IBKR
# key is HSM-protected (RSA-HSM 2048: $1 per key-month, the vault itself costs the same as standard).
resource "azurerm_key_vault" "this" {
  #checkov:skip=CKV2_AZURE_32:no private endpoints - resolving privatelink zones from on-prem needs a DNS Private Resolver (~$180/month) or a forwarder VM; public endpoint behind a Deny-by-default firewall (on-prem IP, app subnet) instead
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  tenant_id                     = var.tenant_id
  sku_name                      = "premium"
  enable_rbac_authorization     = true
  soft_delete_retention_days    = var.soft_delete_retention_days
  purge_protection_enabled      = true
  public_network_access_enabled = true
  tags                          = var.tags

  network_acls {
    bypass                     = "AzureServices"
    default_action             = "Deny"
    ip_rules                   = var.allowed_ip_addresses
    virtual_network_subnet_ids = var.allowed_subnet_ids
  }
}

resource "azurerm_role_assignment" "administrators" {
  for_each = toset(var.administrator_object_ids)

  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Administrator"
  principal_id         = each.value
}

# The IBKR OAuth signing key: generated inside the HSM, rotated by Key Vault, never exported.
resource "azurerm_key_vault_key" "ibkr" {
  name            = var.ibkr_key_name
  key_vault_id    = azurerm_key_vault.this.id
  key_type        = "RSA-HSM"
  key_size        = 2048
  key_opts        = ["sign", "verify"]
  expiration_date = timeadd(plantimestamp(), "2160h")
  tags            = var.tags

  rotation_policy {
    expire_after         = var.ibkr_key_rotation.expire_after
    notify_before_expiry = var.ibkr_key_rotation.notify_before_expiry

    automatic {
      time_before_expiry = var.ibkr_key_rotation.rotate_before_expiry
    }
  }

  lifecycle {
    # Rotation moves the expiry forward; the first expiry is only a starting point.
    ignore_changes = [expiration_date]
  }

  depends_on = [azurerm_role_assignment.administrators]
}

resource "azurerm_monitor_diagnostic_setting" "audit" {
  name                       = "diag-${var.name}"
  target_resource_id         = azurerm_key_vault.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "AuditEvent"
  }

  enabled_log {
    category = "AzurePolicyEvaluationDetails"
  }
}
