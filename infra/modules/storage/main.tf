# Table Storage for anomalies, audit records and metrics, reachable through the firewall only from
# the app subnet and the on-premises site. Shared-key access stays on because the services' Tables
# adapter (system/adapters/tables.py) authenticates with a connection string; that string lives
# only in Key Vault, written here, and the portal and tooling default to Entra ID.
resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV2_AZURE_33:no private endpoints - resolving privatelink zones from on-prem needs a DNS Private Resolver (~$180/month) or a forwarder VM; public endpoint behind a Deny-by-default firewall (on-prem IP, app subnet) instead
  #checkov:skip=CKV_AZURE_59:public network access stays on because there is no private endpoint (see CKV2_AZURE_33); the firewall denies all but the on-prem IP and the app subnet
  #checkov:skip=CKV2_AZURE_40:shared-key auth stays on - the services' Tables adapter (system/adapters/tables.py) takes a connection string, kept only in Key Vault; switch off when it takes an Entra ID credential
  #checkov:skip=CKV2_AZURE_1:Microsoft-managed keys with infrastructure (double) encryption; a CMK would put Key Vault on the write path of every audit record
  #checkov:skip=CKV_AZURE_33:no queues are used; storage logs go through diagnostic settings, not the legacy queue logging that needs the account key
  name                              = var.name
  location                          = var.location
  resource_group_name               = var.resource_group_name
  account_kind                      = "StorageV2"
  account_tier                      = "Standard"
  account_replication_type          = var.replication_type
  min_tls_version                   = "TLS1_2"
  https_traffic_only_enabled        = true
  allow_nested_items_to_be_public   = false
  shared_access_key_enabled         = true
  default_to_oauth_authentication   = true
  local_user_enabled                = false
  infrastructure_encryption_enabled = true
  public_network_access_enabled     = true
  tags                              = var.tags

  identity {
    type = "SystemAssigned"
  }

  network_rules {
    default_action             = "Deny"
    bypass                     = ["AzureServices", "Logging", "Metrics"]
    ip_rules                   = var.allowed_ip_addresses
    virtual_network_subnet_ids = var.allowed_subnet_ids
  }

  blob_properties {
    delete_retention_policy {
      days = var.soft_delete_retention_days
    }

    container_delete_retention_policy {
      days = var.soft_delete_retention_days
    }
  }

  sas_policy {
    expiration_period = "01.00:00:00"
    expiration_action = "Log"
  }
}

resource "azurerm_storage_table" "this" {
  #checkov:skip=CKV2_AZURE_20:table reads/writes/deletes are logged by the tableServices diagnostic setting; checkov only recognises legacy Storage Insights, which needs the account key (disabled)
  for_each = toset(var.tables)

  name               = each.value
  storage_account_id = azurerm_storage_account.this.id
}

resource "azurerm_monitor_diagnostic_setting" "tables" {
  name                       = "diag-${var.name}-tables"
  target_resource_id         = "${azurerm_storage_account.this.id}/tableServices/default"
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "StorageRead"
  }

  enabled_log {
    category = "StorageWrite"
  }

  enabled_log {
    category = "StorageDelete"
  }

  enabled_metric {
    category = "Transaction"
  }
}

resource "azurerm_key_vault_secret" "tables_connection_string" {
  name            = var.connection_string_secret_name
  key_vault_id    = var.key_vault_id
  value           = azurerm_storage_account.this.primary_connection_string
  content_type    = "azure-storage-connection-string"
  expiration_date = timeadd(plantimestamp(), "8760h")
  tags            = var.tags

  lifecycle {
    # Key rotation (az storage account keys renew) rewrites this secret and its expiry.
    ignore_changes = [expiration_date]
  }
}
