"""The CSS and JavaScript the HTML page of an explanation carries inline.

The page (:mod:`~st_glot.explanations.render_html`) loads nothing from anywhere. The script reads the
explanation from the page's ``<script id="explanation-data">`` JSON, draws the strongest edges as SVG arcs above
the tokens (dashed between lines), highlights a token's edges on hover, and redraws when the ``#edge-count`` slider
moves or the window resizes.
"""

#: Style sheet of the page.
STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 4px}
.meta{color:#555;font-size:13px;margin:2px 0}
.controls{font-size:13px;margin:10px 0}
#stage{position:relative;max-width:1100px}
#arcs{position:absolute;left:0;top:0;z-index:0;pointer-events:none;overflow:visible}
#arcs path{fill:none;stroke:#2c5d9e}
#arcs path.cross{stroke-dasharray:4 2}
#arcs path.dim{stroke-opacity:.06}
#arcs path.hot{stroke:#c2410c;stroke-opacity:1}
#tokens{position:relative;z-index:1;line-height:1}
.word{display:inline-block;white-space:nowrap;margin:56px 4px 16px 0}
.tok{position:relative;display:inline-block;font:14px/20px ui-monospace,"DejaVu Sans Mono",Menlo,monospace;
 padding:0 4px;border:1px solid #bbb;border-radius:3px;margin-right:1px;cursor:default}
.tok.special{border-style:dashed;color:#555}
.tok .bar{position:absolute;left:1px;right:1px;top:calc(100% + 2px);background:#8a8a8a}
.tok.hot{outline:2px solid #c2410c}
ol{font-size:13px}
code{font:13px ui-monospace,"DejaVu Sans Mono",monospace}
"""

#: Script of the page: arcs, hover highlighting, the edge-count slider.
SCRIPT = """
(function(){
const data=JSON.parse(document.getElementById('explanation-data').textContent);
const stage=document.getElementById('stage'), svg=document.getElementById('arcs');
const toks=Array.from(document.querySelectorAll('.tok')), slider=document.getElementById('edge-count');
const count=document.getElementById('edge-count-label'), NS='http://www.w3.org/2000/svg';
const sims=data.edge_similarity, low=data.tau===null?0:data.tau, high=sims.length?sims[0]:1;
function draw(){
  while(svg.firstChild) svg.removeChild(svg.firstChild);
  const base=stage.getBoundingClientRect(), n=slider?Number(slider.value):0;
  svg.setAttribute('width',base.width); svg.setAttribute('height',base.height);
  const boxes=toks.map(t=>{const r=t.getBoundingClientRect();return {x:r.left-base.left+r.width/2,y:r.top-base.top};});
  for(let k=0;k<n;k++){
    const [i,j]=data.edges[k], a=boxes[i], b=boxes[j], s=(sims[k]-low)/Math.max(high-low,1e-6);
    const lift=Math.min(52,6+1.6*Math.sqrt(Math.abs(b.x-a.x)))*4/3, cross=Math.abs(a.y-b.y)>2;
    const p=document.createElementNS(NS,'path');
    p.setAttribute('d',`M${a.x},${a.y} C${a.x},${a.y-lift} ${b.x},${b.y-lift} ${b.x},${b.y}`);
    p.setAttribute('stroke-width',(0.8+2.2*s).toFixed(2));
    p.setAttribute('stroke-opacity',((0.25+0.65*s)*(cross?0.6:1)).toFixed(2));
    p.dataset.i=i; p.dataset.j=j; if(cross) p.classList.add('cross');
    const title=document.createElementNS(NS,'title');
    title.textContent=`${toks[i].textContent} — ${toks[j].textContent}: cosine ${sims[k].toFixed(3)}`;
    p.appendChild(title); svg.appendChild(p);
  }
  if(count) count.textContent=`${n} of ${sims.length}`;
  document.body.dataset.drawnEdges=String(n);
}
function focus(i){
  toks.forEach(t=>t.classList.toggle('hot',i!==null&&Number(t.dataset.i)===i));
  svg.querySelectorAll('path').forEach(p=>{
    const on=i!==null&&(Number(p.dataset.i)===i||Number(p.dataset.j)===i);
    p.classList.toggle('hot',on); p.classList.toggle('dim',i!==null&&!on);
  });
}
toks.forEach(t=>{
  t.addEventListener('mouseenter',()=>focus(Number(t.dataset.i)));
  t.addEventListener('mouseleave',()=>focus(null));
});
if(slider) slider.addEventListener('input',draw);
window.addEventListener('resize',draw);
draw();
})();
"""
