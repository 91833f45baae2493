// ECharts modules used by the console, registered once (the rest of ECharts is left out of the bundle).
import { use } from 'echarts/core'
import { BarChart, HeatmapChart, LineChart, SankeyChart } from 'echarts/charts'
import {
  DatasetComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapComponent,
} from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

use([
  BarChart, LineChart, HeatmapChart, SankeyChart,
  DatasetComponent, GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapComponent,
  CanvasRenderer,
])
