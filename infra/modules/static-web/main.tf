# The dashboard: a static HTML5 Canvas SPA fed by the SignalR JavaScript client. Real-time traffic
# goes through SignalR negotiate, never through the SWA-managed API (HTTP only, 45 s per request).
resource "azurerm_static_web_app" "this" {
  name                = "stapp-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  sku_tier            = var.sku
  sku_size            = var.sku
  tags                = var.tags
}
