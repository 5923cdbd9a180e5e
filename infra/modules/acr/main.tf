# Images are pushed once per commit under an immutable tag (the CI locks each tag after push:
# az acr repository update --write-enabled false). No admin user: pulls and pushes use Entra ID.
resource "azurerm_container_registry" "this" {
  #checkov:skip=CKV_AZURE_139:public network access can only be disabled on Premium; pulls use Entra ID, no admin user
  #checkov:skip=CKV_AZURE_163:Defender scanning needs Standard+; every image is Trivy-scanned in CI and fails on HIGH/CRITICAL
  #checkov:skip=CKV_AZURE_164:content trust is Premium-only; images are pushed by CI only (AcrPush to one workload identity)
  #checkov:skip=CKV_AZURE_165:geo-replication is Premium-only; a single region and a single edge site
  #checkov:skip=CKV_AZURE_166:quarantine is Premium-only; CI scans before push, so nothing unscanned is ever pulled
  #checkov:skip=CKV_AZURE_167:untagged-manifest retention is Premium-only; tags are immutable and CI pushes no untagged manifests
  #checkov:skip=CKV_AZURE_233:zone redundancy is Premium-only; the edge caches images (IfNotPresent) and survives an ACR outage
  #checkov:skip=CKV_AZURE_237:dedicated data endpoints are Premium-only
  name                = var.name
  location            = var.location
  resource_group_name = var.resource_group_name
  sku                 = var.sku
  admin_enabled       = false
  tags                = var.tags
}

resource "azurerm_role_assignment" "pull" {
  for_each = var.pull_principal_ids

  scope                = azurerm_container_registry.this.id
  role_definition_name = "AcrPull"
  principal_id         = each.value
}

resource "azurerm_role_assignment" "push" {
  for_each = var.push_principal_ids

  scope                = azurerm_container_registry.this.id
  role_definition_name = "AcrPush"
  principal_id         = each.value
}

resource "azurerm_monitor_diagnostic_setting" "registry" {
  name                       = "diag-${var.name}"
  target_resource_id         = azurerm_container_registry.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  enabled_log {
    category = "ContainerRegistryRepositoryEvents"
  }

  enabled_log {
    category = "ContainerRegistryLoginEvents"
  }
}
