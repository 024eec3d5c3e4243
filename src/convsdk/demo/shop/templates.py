"""The shop's Jinja templates (served from memory: the package needs no template folder).

Links name the views by endpoint (``url_for('pricing')``): the view functions' names.
"""

from __future__ import annotations

__all__ = ["TEMPLATES"]

TEMPLATES = {
    "base.html": """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · Bean &amp; Burr</title>
<style>
 body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto;
        padding: 0 1rem; color: #2b2118; }
 header, footer { display: flex; gap: 1rem; align-items: baseline; flex-wrap: wrap; }
 header a:first-child { font-weight: 700; margin-right: auto; }
 .plans { display: flex; gap: 1rem; } .plan { border: 1px solid #d8cfc4; padding: 1rem; }
 .popular { border: 2px solid #7a4a21; } .badge { color: #7a4a21; font-weight: 700; }
 .flash { background: #f3ece3; padding: .5rem 1rem; } .error { color: #a11; }
</style>
</head>
<body>
<header>
 <a href="{{ url_for('home') }}">Bean &amp; Burr</a>
 <a href="{{ url_for('pricing') }}">Brew Club</a>
 <a href="{{ url_for('product', sku='grinder-c2') }}">Grinders</a>
 <a href="{{ url_for('blog', slug='pour-over-basics') }}">Journal</a>
 <a href="{{ url_for('cart') }}">Cart ({{ cart_count }})</a>
</header>
{% for message in get_flashed_messages() %}<p class="flash">{{ message }}</p>{% endfor %}
<main>{% block main %}{% endblock %}</main>
<footer>
 <form method="post" action="{{ url_for('newsletter') }}">
  <input type="hidden" name="next" value="{{ request.path }}">
  <label>Weekly brew notes <input type="email" name="email" required></label>
  <button>Subscribe</button>
 </form>
</footer>
</body>
</html>""",
    "home.html": """{% extends "base.html" %}{% block title %}Fresh coffee{% endblock %}
{% block main %}
<h1>Roasted on Monday, in your cup by Thursday</h1>
<p>Single-origin beans and the gear to brew them well.</p>
<p><a href="{{ url_for('pricing') }}">Join the Brew Club</a></p>
<ul>{% for p in products if not p.plan %}
 <li><a href="{{ url_for('product', sku=p.sku) }}">{{ p.name }}</a> ${{ '%.2f' % p.price }}</li>
{% endfor %}</ul>
<h2>From the journal</h2>
<ul>{% for post in posts %}
 <li><a href="{{ url_for('blog', slug=post.slug) }}">{{ post.title }}</a></li>
{% endfor %}</ul>
{% endblock %}""",
    "post.html": """{% extends "base.html" %}{% block title %}{{ post.title }}{% endblock %}
{% block main %}
<article><h1>{{ post.title }}</h1><p>{{ post.body }}</p></article>
<p>Brew it with <a href="{{ url_for('product', sku='grinder-c2') }}">the C2 grinder</a>.</p>
{% endblock %}""",
    "pricing.html": """{% extends "base.html" %}{% block title %}Brew Club{% endblock %}
{% block main %}
<h1>Brew Club</h1>
{% if variant == "B" %}
<p>Fresh beans on your schedule. Free shipping; skip or cancel any time.</p>
{% endif %}
<div class="plans">
{% for p in plans %}{% set popular = variant == "B" and p.sku == "club-fortnightly" %}
 <form class="plan{% if popular %} popular{% endif %}"
       method="post" action="{{ url_for('add_to_cart') }}">
  {% if popular %}<p class="badge">Most popular</p>{% endif %}
  <h2>{{ p.name }}</h2><p>{{ p.blurb }}</p>
  <p>${{ '%.2f' % p.price }} a month
  {% if variant == "B" %}(about ${{ '%.2f' % (p.price / (30 if p.sku == 'club-monthly' else 60)) }}
  a cup){% endif %}</p>
  <input type="hidden" name="sku" value="{{ p.sku }}">
  <button>{% if variant == "B" %}Start brewing{% else %}Subscribe{% endif %}</button>
 </form>
{% endfor %}
</div>
<h2>Coffee for your office?</h2>
<form method="post" action="{{ url_for('demo_request') }}">
 <label>Company <input name="company" required></label>
 <label>Team size <input name="team_size" type="number" min="1" required></label>
 <label>Email <input name="email" type="email" required></label>
 <button>Book a tasting</button>
</form>
{% endblock %}""",
    "product.html": """{% extends "base.html" %}{% block title %}{{ product.name }}{% endblock %}
{% block main %}
<h1>{{ product.name }}</h1><p>{{ product.blurb }}</p><p>${{ '%.2f' % product.price }}</p>
<form method="post" action="{{ url_for('add_to_cart') }}">
 <input type="hidden" name="sku" value="{{ product.sku }}">
 <label>Quantity <input type="number" name="qty" value="1" min="1" max="9"></label>
 <button>Add to cart</button>
</form>
{% endblock %}""",
    "cart.html": """{% extends "base.html" %}{% block title %}Your cart{% endblock %}
{% block main %}
<h1>Your cart</h1>
{% if lines %}
<ul>{% for product, qty in lines %}
 <li>{{ qty }} × {{ product.name }}: ${{ '%.2f' % (qty * product.price) }}</li>
{% endfor %}</ul>
<p>Total: ${{ '%.2f' % total }}</p>
<p><a href="{{ url_for('checkout') }}">Check out</a></p>
{% else %}<p>Nothing here yet. <a href="{{ url_for('home') }}">Browse the shop</a>.</p>{% endif %}
{% endblock %}""",
    "checkout.html": """{% extends "base.html" %}{% block title %}Checkout{% endblock %}
{% block main %}
<h1>Checkout</h1>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<p>Total: ${{ '%.2f' % total }}</p>
<form method="post" action="{{ url_for('place_order') }}">
 <input type="hidden" name="total" value="{{ '%.2f' % total }}">
 <label>Email <input type="email" name="email" required></label>
 <label>Card number <input name="card_number" inputmode="numeric" autocomplete="cc-number"
   required></label>
 <label>Expiry <input name="expiry" placeholder="MM/YY" required></label>
 <label>CVC <input name="cvc" inputmode="numeric" required></label>
 <button>Pay ${{ '%.2f' % total }}</button>
</form>
{% endblock %}""",
    "thanks.html": """{% extends "base.html" %}{% block title %}Thank you{% endblock %}
{% block main %}
<h1>Thank you!</h1>
{% if order %}<p>Your order {{ order }} is on its way to the roaster.</p>{% endif %}
{% endblock %}""",
}
