"""Generates the small demo images in testdata/images (committed).

    /usr/bin/python3 testdata/gen_images.py

Needs Pillow. The images are simple drawings made here, so the project
ships no third-party pictures.
"""
import os

from PIL import Image, ImageDraw

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")


def main():
    os.makedirs(OUT, exist_ok=True)
    im = Image.new("RGB", (320, 240), (250, 250, 245))
    ImageDraw.Draw(im).ellipse((100, 60, 220, 180), fill=(220, 30, 30))
    im.save(os.path.join(OUT, "red-circle.png"))

    im = Image.new("RGB", (300, 400), (240, 240, 250))
    ImageDraw.Draw(im).rectangle((60, 110, 240, 290), fill=(30, 60, 200))
    im.save(os.path.join(OUT, "blue-square.jpg"), quality=90)

    im = Image.new("RGB", (400, 300), (245, 250, 240))
    ImageDraw.Draw(im).polygon([(200, 40), (330, 260), (70, 260)], fill=(30, 160, 60))
    im.save(os.path.join(OUT, "green-triangle.png"))


if __name__ == "__main__":
    main()
