package lab

import _ "embed"

// dashboardScript is the lab's part of the balancer's dashboard
// (lb.Config.DashboardScript): the store switch and the instances' kill and
// restart buttons, for the routes InstanceRoutes adds.
//
//go:embed web/dashboard.js
var dashboardScript string
