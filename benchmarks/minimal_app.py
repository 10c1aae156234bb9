"""The anchor of benchmarks/bench_app.py: the least a Streamlit page can do to draw the same areas.

Reads the boundary file named by GAPMAP_BOUNDARIES with geopandas, draws its polygons as one
folium GeoJSON layer through streamlit-folium (Leaflet from Streamlit's static serving, as the
app does: the machine is offline; bench_app runs this file beside a `static` link) and
writes the name of a clicked area below the map. No gapmap import, no analysis, no legend:
what is left is Streamlit, streamlit-folium and Leaflet, the floor the app is measured against.

    streamlit run benchmarks/minimal_app.py   (with GAPMAP_BOUNDARIES set)
"""

from __future__ import annotations

import os

import folium
import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

LEAFLET = "/app/static/vendor/leaflet"


@st.cache_data
def areas_geojson(path: str) -> str:
    areas = gpd.read_file(path)
    code = next(c for c in areas.columns if c.upper().endswith("CD"))
    name = next(c for c in areas.columns if c.upper().endswith("NM"))
    return areas[[code, name, "geometry"]].rename(columns={code: "area_code", name: "area_name"}).to_json()


st.set_page_config(page_title="minimal", layout="wide")
st.title("Minimal page")
m = folium.Map(tiles=None, location=[53, -1.5], zoom_start=6)
m.default_js = [("leaflet", f"{LEAFLET}/leaflet.js")]  # no CDN
m.default_css = [("leaflet_css", f"{LEAFLET}/leaflet.css")]
folium.GeoJson(
    areas_geojson(os.environ["GAPMAP_BOUNDARIES"]),
    tooltip=folium.GeoJsonTooltip(fields=["area_name"], labels=False),
).add_to(m)
out = st_folium(m, key="map", height=560, use_container_width=True, returned_objects=["last_active_drawing"])
clicked = ((out or {}).get("last_active_drawing") or {}).get("properties", {}).get("area_name")
if clicked:
    st.write(f"Clicked: {clicked}")
